"""Genomic language model architectures: the registry of the model zoo (`MODELS`, `build`, `from_pretrained`,
`register`) and what a model offers (`Capabilities`)."""

from genolm.models.base import Capabilities, require_capability
from genolm.models.registry import MODELS, build, context_config, from_pretrained, model_class, register

__all__ = ["MODELS", "Capabilities", "build", "context_config", "from_pretrained", "model_class", "register",
           "require_capability"]
