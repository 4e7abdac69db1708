"""The reference HyenaDNA (`standalone_hyenadna.py` of the HazyResearch/hyena-dna repository), for benchmarks and
scripts/make_golden_vectors.py only.

It is never part of genolm: the benchmark set-up installs the public file, pinned by commit and SHA-256, into a
cache directory (`$GENOLM_CACHE`, else `~/.cache/genolm`) and imports it from there. A machine without internet
access can place the same file there by hand, or point `$GENOLM_REFERENCE_HYENADNA` at a copy; the checksum is
verified either way, so the numbers always compare against the same code.

The reference imports `einops` (a benchmark dependency, the `bench` extra in pyproject.toml) and
`torchvision.ops.StochasticDepth`, which the HyenaDNA blocks build with drop probability 0 (an identity). When
torchvision is absent (it is a multi-GB CUDA download on Linux), an identity stand-in that refuses any other
probability is registered in its place, so the reference computes exactly what it computes with torchvision.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import types
import urllib.request
from pathlib import Path

import torch
from torch import nn

from genolm.models.hyenadna import HyenaDNA, HyenaDNAConfig

COMMIT = "d553021b483b82980aa4b868b37ec2d4332e198a"
URL = f"https://raw.githubusercontent.com/HazyResearch/hyena-dna/{COMMIT}/standalone_hyenadna.py"
SHA256 = "9121af5eb03ae68ed104d381046418453a8483d4cdbfe94a5ddb016d669a4c53"


def cached_path() -> Path:
    root = Path(os.environ.get("GENOLM_CACHE", Path.home() / ".cache" / "genolm"))
    return root / "reference" / f"standalone_hyenadna-{COMMIT[:12]}.py"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def install() -> Path:
    """The verified reference file: `$GENOLM_REFERENCE_HYENADNA`, the cached copy, or a fresh download."""
    override = os.environ.get("GENOLM_REFERENCE_HYENADNA")
    path = Path(override) if override else cached_path()
    if not path.is_file():
        if override:
            raise SystemExit(f"GENOLM_REFERENCE_HYENADNA={override}: no such file")
        print(f"downloading the reference HyenaDNA ({URL})", file=sys.stderr)
        try:
            with urllib.request.urlopen(URL, timeout=60) as response:
                data = response.read()
        except OSError as error:
            raise SystemExit(f"cannot download the reference HyenaDNA: {error}\n"
                             f"place {URL} at {path} (or set GENOLM_REFERENCE_HYENADNA)") from None
        if _sha256(data) != SHA256:
            raise SystemExit(f"{URL}: SHA-256 {_sha256(data)} is not the pinned {SHA256}")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    digest = _sha256(path.read_bytes())
    if digest != SHA256:
        raise SystemExit(f"{path}: SHA-256 {digest} is not the pinned {SHA256} (commit {COMMIT})")
    return path


class _StochasticDepthAtZero(nn.Module):
    """torchvision.ops.StochasticDepth for p == 0, the only value the reference's HyenaDNA blocks use."""

    def __init__(self, p: float, mode: str):
        super().__init__()
        if p != 0:
            raise ValueError(f"the torchvision stand-in supports drop probability 0 only, got {p}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def _ensure_torchvision_ops() -> None:
    if importlib.util.find_spec("torchvision") is not None:
        return
    # transformers probes for torchvision when first imported; let it see the truth before the stand-in exists.
    import transformers.tokenization_utils  # noqa: F401

    torchvision = types.ModuleType("torchvision")
    ops = types.ModuleType("torchvision.ops")
    ops.StochasticDepth = _StochasticDepthAtZero
    torchvision.ops = ops
    sys.modules.setdefault("torchvision", torchvision)
    sys.modules.setdefault("torchvision.ops", ops)


def load_module() -> types.ModuleType:
    if "standalone_hyenadna" in sys.modules:
        return sys.modules["standalone_hyenadna"]
    path = install()
    _ensure_torchvision_ops()
    spec = importlib.util.spec_from_file_location("standalone_hyenadna", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["standalone_hyenadna"] = module
    spec.loader.exec_module(module)
    return module


def reference_like(model: HyenaDNA) -> nn.Module:
    """The reference HyenaDNAModel (backbone only, hidden states out) carrying `model`'s weights.

    The reference hard-codes the modulation shift to its constructor argument (default 0.05); `model` must use the
    same shift for the two to compute the same function.
    """
    config: HyenaDNAConfig = model.config
    reference = load_module()
    layer = {"_name_": "hyena", "emb_dim": config.emb_dim, "filter_order": config.filter_order,
             "local_order": config.short_filter_order, "l_max": config.l_max, "modulate": config.modulate,
             "w": config.sine_freq, "lr": 0.0, "wd": 0.0, "lr_pos_emb": 0.0, "order": config.hyena_order,
             "fast_decay_pct": config.fast_decay_pct, "slow_decay_pct": config.slow_decay_pct,
             "target": config.modulation_target, "shift": config.shift, "dropout": config.hyena_dropout}
    ref = reference.HyenaDNAModel(
        d_model=config.d_model, n_layer=config.n_layer, d_inner=config.d_inner, vocab_size=config.vocab_size,
        layer=layer, resid_dropout=config.resid_dropout, embed_dropout=config.embed_dropout,
        layer_norm_epsilon=config.layer_norm_epsilon, residual_in_fp32=config.residual_in_fp32,
        pad_vocab_size_multiple=config.pad_vocab_size_multiple, use_head=False)
    state = {k: v for k, v in model.state_dict().items() if k != "lm_head.weight"}
    ref.load_state_dict(state, strict=True)
    return ref.to(next(model.parameters()).device)
