"""Genomic language model architectures: the registry of the model zoo (`MODELS`, `build`, `from_pretrained`)."""

from genolm.models.registry import MODELS, build, from_pretrained, model_class

__all__ = ["MODELS", "build", "from_pretrained", "model_class"]
