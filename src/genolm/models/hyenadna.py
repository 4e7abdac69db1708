"""HyenaDNA (Nguyen et al. 2023): a decoder-only stack of Hyena operators over single nucleotides.

The module and attribute names follow the released training code, so that `state_dict()` keys are the released
checkpoint keys (without Lightning's `model.` prefix): `backbone.embeddings.word_embeddings.weight`,
`backbone.layers.{i}.mixer.filter_fn.implicit_filter.{j}...`, `backbone.ln_f.*`, `lm_head.weight`.

Two details matter for reproducing released checkpoints exactly:
- the residual stream is carried separately from the block output ("dropout -> add -> LayerNorm" at the start of
  each block, the layout the released code fuses with `fused_dropout_add_ln`); in eval mode this is the usual
  pre-norm residual network, but it decides where the embedding and residual dropouts sit in training;
- the exponential modulation `shift` is 0.0 in the training code and 0.05 in the standalone / Hugging Face ports,
  and it is not recorded in released configs, so the loader takes it as an argument.

It computes the reference's function within float32 rounding (closer to a float64 evaluation than the reference
itself) but faster (docs/performance.md, benchmarks/bench_hyenadna.py): FFT sizes with small prime factors
(`fft_size`), FFT and short convolutions with backward passes of their own, projections that read and write the
convolutions' layout through GEMM strides instead of transposed copies, the eval-mode filter spectrum cached, and
per-block activation checkpointing as a training option.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import pickle
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
import torch.utils.checkpoint
from safetensors import SafetensorError
from safetensors.torch import load_file as load_safetensors
from torch import Tensor, nn

from genolm.errors import GenolmInputError
from genolm.models.base import write_model_files

# Released HyenaDNA checkpoints (model size, depth, MLP width, context). l_max is context + 2 because the
# released models were trained with room for the [CLS]/[SEP] tokens around the context.
_PRESETS: dict[str, tuple[int, int, int, int]] = {
    "tiny-1k": (128, 2, 512, 1024),
    "small-32k": (256, 4, 1024, 32768),
    "medium-160k": (256, 8, 1024, 160000),
    "medium-450k": (256, 8, 1024, 450000),
    "large-1m": (256, 8, 1024, 1000000),
}

# Keys in released configs that are optimizer or kernel settings, with no effect on the function computed.
_RELEASED_IGNORED_LAYER_KEYS = {"_name_", "lr", "wd", "lr_pos_emb", "filter_dropout", "fused_fft_conv"}


@dataclass
class HyenaDNAConfig:
    """Architecture and regularization of a HyenaDNA model; l_max is the longest input (context + 2)."""

    d_model: int = 128
    n_layer: int = 2
    d_inner: int = 512
    vocab_size: int = 12
    pad_vocab_size_multiple: int = 8
    l_max: int = 1026
    emb_dim: int = 5
    filter_order: int = 64
    short_filter_order: int = 3
    hyena_order: int = 2
    sine_freq: float = 10.0
    modulate: bool = True
    shift: float = 0.0
    fast_decay_pct: float = 0.3
    slow_decay_pct: float = 1.5
    modulation_target: float = 1e-2
    embed_dropout: float = 0.1
    resid_dropout: float = 0.0
    hyena_dropout: float = 0.0
    residual_in_fp32: bool = True
    layer_norm_epsilon: float = 1e-5
    # Training option, no effect on the function computed: recompute each block's activations in the backward
    # pass instead of keeping them (memory per block falls to its input; the step costs one more forward).
    activation_checkpointing: bool = False

    def __post_init__(self) -> None:
        if self.hyena_order < 2:
            raise ValueError(f"hyena_order must be at least 2, got {self.hyena_order}")
        if self.emb_dim < 3 or self.emb_dim % 2 == 0:
            raise ValueError(f"emb_dim must be odd and at least 3 (time, cosine, sine), got {self.emb_dim}")
        for name in ("d_model", "n_layer", "d_inner", "vocab_size", "pad_vocab_size_multiple", "l_max",
                     "filter_order", "short_filter_order"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")

    @property
    def padded_vocab_size(self) -> int:
        m = self.pad_vocab_size_multiple
        return (self.vocab_size + m - 1) // m * m

    @classmethod
    def preset(cls, name: str) -> HyenaDNAConfig:
        if name not in _PRESETS:
            raise ValueError(f"unknown HyenaDNA preset {name!r}; known: {', '.join(_PRESETS)}")
        d_model, n_layer, d_inner, context = _PRESETS[name]
        return cls(d_model=d_model, n_layer=n_layer, d_inner=d_inner, l_max=context + 2)

    def with_context(self, context_length: int) -> HyenaDNAConfig:
        return dataclasses.replace(self, l_max=int(context_length) + 2)

    @classmethod
    def from_released(cls, d: dict) -> HyenaDNAConfig:
        """Read a released config.json (nested `layer` dict) or a Hugging Face port config (flat `max_seq_len`).

        Absent optional keys take the defaults of the code that wrote that layout, since that code is what the
        config describes. Raises ValueError naming the offending key.
        """
        if not isinstance(d, dict):
            raise ValueError(f"a HyenaDNA config is a JSON object, got {type(d).__name__}")
        if isinstance(d.get("layer"), dict):
            return cls._from_released_layout(d)
        if "max_seq_len" in d:
            return cls._from_hf_layout(d)
        raise ValueError("not a HyenaDNA config: neither a nested 'layer' dict (released layout) "
                         "nor 'max_seq_len' (Hugging Face layout)")

    @classmethod
    def _from_released_layout(cls, d: dict) -> HyenaDNAConfig:
        layer = d["layer"]
        if layer.get("_name_", "hyena") != "hyena":
            raise ValueError(f"layer._name_ is {layer['_name_']!r}; only 'hyena' layers are supported")
        unknown = set(layer) - _RELEASED_IGNORED_LAYER_KEYS - {
            "l_max", "emb_dim", "filter_order", "local_order", "short_filter_order", "order", "w", "modulate",
            "dropout", "fast_decay_pct", "slow_decay_pct", "target", "shift", "num_inner_mlps", "bias"}
        if unknown:
            raise ValueError(f"unsupported keys in 'layer': {', '.join(sorted(unknown))}")
        if layer.get("num_inner_mlps", 2) != 2 or not layer.get("bias", True):
            raise ValueError("only the released filter (num_inner_mlps 2, bias true) is supported")
        d_model = _required_int(d, "d_model")
        return cls(
            d_model=d_model,
            n_layer=_required_int(d, "n_layer"),
            d_inner=int(d.get("d_inner") or 4 * d_model),
            vocab_size=_required_int(d, "vocab_size"),
            pad_vocab_size_multiple=int(d.get("pad_vocab_size_multiple", 1)),
            l_max=_required_int(layer, "l_max", "layer.l_max"),
            emb_dim=int(layer.get("emb_dim", 3)),
            filter_order=int(layer.get("filter_order", 64)),
            # The training code ignores `local_order` (its short filter is always 3 wide) but it is the
            # released name for that width, so it is read as such when `short_filter_order` is absent.
            short_filter_order=int(layer.get("short_filter_order", layer.get("local_order", 3))),
            hyena_order=int(layer.get("order", 2)),
            sine_freq=float(layer.get("w", 1.0)),
            modulate=bool(layer.get("modulate", True)),
            shift=float(layer.get("shift", 0.0)),
            fast_decay_pct=float(layer.get("fast_decay_pct", 0.3)),
            slow_decay_pct=float(layer.get("slow_decay_pct", 1.5)),
            modulation_target=float(layer.get("target", 1e-2)),
            embed_dropout=float(d.get("embed_dropout", 0.1)),
            resid_dropout=float(d.get("resid_dropout", 0.0)),
            hyena_dropout=float(layer.get("dropout", 0.0)),
            residual_in_fp32=bool(d.get("residual_in_fp32", False)),
            layer_norm_epsilon=float(d.get("layer_norm_epsilon", 1e-5)),
            # The released code checkpoints the mixer and the MLP separately; genolm checkpoints whole blocks.
            activation_checkpointing=bool(d.get("checkpoint_mixer", False) and d.get("checkpoint_mlp", False)),
        )

    @classmethod
    def _from_hf_layout(cls, d: dict) -> HyenaDNAConfig:
        if d.get("num_inner_mlps", 2) != 2 or not d.get("use_bias", True) or not d.get("train_freq", True):
            raise ValueError("only the released filter (num_inner_mlps 2, use_bias, train_freq) is supported")
        d_model = _required_int(d, "d_model")
        return cls(
            d_model=d_model,
            n_layer=_required_int(d, "n_layer"),
            d_inner=int(d.get("d_inner") or 4 * d_model),
            vocab_size=_required_int(d, "vocab_size"),
            pad_vocab_size_multiple=int(d.get("pad_vocab_size_multiple", 8)),
            l_max=_required_int(d, "max_seq_len"),
            emb_dim=int(d.get("emb_dim", 3)),
            filter_order=int(d.get("filter_order", 64)),
            short_filter_order=int(d.get("short_filter_order", 3)),
            hyena_order=int(d.get("hyena_order", 2)),
            sine_freq=float(d.get("activation_freq", 1.0)),
            # The Hugging Face port hard-codes the modulation shift to 0.05 and always keeps the residual in fp32.
            shift=0.05,
            embed_dropout=float(d.get("embed_dropout", 0.1)),
            hyena_dropout=float(d.get("hyena_dropout", 0.0)),
            residual_in_fp32=True,
            layer_norm_epsilon=float(d.get("layer_norm_epsilon", 1e-5)),
        )

    def to_released(self) -> dict:
        return {
            "d_model": self.d_model,
            "n_layer": self.n_layer,
            "d_inner": self.d_inner,
            "vocab_size": self.vocab_size,
            "pad_vocab_size_multiple": self.pad_vocab_size_multiple,
            "layer": {
                "_name_": "hyena",
                "emb_dim": self.emb_dim,
                "filter_order": self.filter_order,
                "local_order": self.short_filter_order,
                "short_filter_order": self.short_filter_order,
                "order": self.hyena_order,
                "l_max": self.l_max,
                "modulate": self.modulate,
                "w": self.sine_freq,
                "dropout": self.hyena_dropout,
                "fast_decay_pct": self.fast_decay_pct,
                "slow_decay_pct": self.slow_decay_pct,
                "target": self.modulation_target,
                "shift": self.shift,
                "lr_pos_emb": 0.0,
            },
            "resid_dropout": self.resid_dropout,
            "embed_dropout": self.embed_dropout,
            "residual_in_fp32": self.residual_in_fp32,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "fused_mlp": False,
            "fused_dropout_add_ln": False,
            "checkpoint_mixer": self.activation_checkpointing,
            "checkpoint_mlp": self.activation_checkpointing,
        }


def _required_int(d: dict, key: str, name: str | None = None) -> int:
    if key not in d:
        raise ValueError(f"missing required key {name or key!r}")
    value = d[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise ValueError(f"{name or key!r} must be an integer, got {value!r}")
    return int(value)


def _no_autocast(device: torch.device) -> torch.autocast:
    return torch.autocast(device_type=device.type, enabled=False)


@functools.lru_cache(maxsize=None)
def fft_size(seqlen: int) -> int:
    """The FFT length for a causal convolution of two length-`seqlen` signals: the smallest 7-smooth
    (2^a 3^b 5^c 7^d) multiple of 16 that is at least 2 * seqlen - 1.

    2L - 1 points make the circular convolution linear (no wrap-around), hence causal. The reference uses exactly
    2L, which for the fine-tuning lengths (context + 1) has large prime factors: 2,050 = 2 * 5^2 * 41 and
    32,770 = 2 * 5 * 29 * 113 run 4x and 6x slower than the sizes chosen here. Smooth but odd or barely even sizes
    are slow too (32,805 = 3^8 * 5 costs 3x 32,928 = 2^5 * 3 * 7^3 in MKL and pocketfft), hence the factor 16.
    Powers of two are returned unchanged (L = 2^k gives 2^(k+1), the reference's size).
    """
    minimum = max(2 * int(seqlen) - 1, 16)
    best = None
    power7 = 16
    while power7 < 2 * minimum:
        power5 = power7
        while power5 < 2 * minimum:
            power3 = power5
            while power3 < 2 * minimum:
                size = power3
                while size < minimum:
                    size *= 2
                best = size if best is None else min(best, size)
                power3 *= 3
            power5 *= 5
        power7 *= 7
    return best


class _FFTConv(torch.autograd.Function):
    """y = causal_conv(u, k)[:L] + skip * u over the last axis, with a backward of its own.

    Autograd's backward of the plain rfft/irfft formulation runs a full complex FFT and re-pads; the gradients
    here are correlations computed with one rfft of the output gradient and one irfft per input:
    grad_u = irfft(G conj(K))[:L] + skip * g, grad_k = irfft(sum_b G conj(U))[:L], grad_skip = sum(g u).
    All inputs are float32 (the caller leaves autocast first).
    """

    @staticmethod
    def forward(ctx, u: Tensor, k: Tensor, skip: Tensor, n: int, k_f: Tensor | None) -> Tensor:
        seqlen = u.shape[-1]
        if k_f is None:
            k_f = torch.fft.rfft(k, n=n)
        u_f = torch.fft.rfft(u, n=n)
        y = torch.fft.irfft(u_f * k_f, n=n)[..., :seqlen]
        ctx.n = n
        ctx.save_for_backward(u, u_f, k_f, skip)
        return torch.addcmul(y, u, skip.unsqueeze(-1))

    @staticmethod
    def backward(ctx, grad: Tensor):
        u, u_f, k_f, skip = ctx.saved_tensors
        n, seqlen = ctx.n, u.shape[-1]
        grad_u = grad_k = grad_skip = None
        g_f = torch.fft.rfft(grad, n=n)
        # Products with a lazily conjugated operand run ~6x slower than with a materialized one (CPU, torch 2.13).
        if ctx.needs_input_grad[0]:
            grad_u_f = g_f * k_f.conj().resolve_conj()
            grad_u = torch.addcmul(torch.fft.irfft(grad_u_f, n=n)[..., :seqlen], grad, skip.unsqueeze(-1))
        if ctx.needs_input_grad[1]:
            cross = g_f * u_f.conj().resolve_conj()
            cross = cross.sum(dim=tuple(range(cross.dim() - k_f.dim()))) if cross.dim() > k_f.dim() else cross
            grad_k = torch.fft.irfft(cross, n=n)[..., :seqlen]
        if ctx.needs_input_grad[2]:
            grad_skip = torch.linalg.vecdot(grad, u).reshape(-1, u.shape[-2]).sum(dim=0)
        return grad_u, grad_k, grad_skip, None, None


def fft_long_conv(u: Tensor, k: Tensor, skip: Tensor, k_f: Tensor | None = None) -> Tensor:
    """Causal convolution of u [B, D, L] with k [D, L] via FFT, plus the per-channel skip term `skip * u`.

    `k_f` is k's spectrum at `fft_size(L)` points when the caller has it already (the eval-mode cache). The
    transform runs in float32 whatever the autocast state: half-precision FFTs are unsupported for most lengths
    and lose accuracy.
    """
    n = fft_size(u.shape[-1])
    with _no_autocast(u.device):
        out = _FFTConv.apply(u.float(), k.float(), skip.float(), n, k_f)
    return out.to(u.dtype)


class _CausalDepthwiseConv(torch.autograd.Function):
    """y[c, t] = bias[c] + sum_j weight[c, j] x[c, t + j - (K - 1)] (zeros before the start), over x [B, C, L].

    The released short filter is a depthwise Conv1d padded K - 1 on both sides of which the first L outputs are
    kept; the same sum as K shifted multiply-adds costs a third of oneDNN's depthwise kernel on CPU forward and a
    tenth backward, and computes no outputs past L.
    """

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
        taps = weight.shape[-1]
        seqlen = x.shape[-1]
        w = weight.reshape(weight.shape[0], taps, 1)
        out = torch.addcmul(bias.unsqueeze(-1), x, w[:, taps - 1])
        for j in range(taps - 1):
            shift = taps - 1 - j
            if shift < seqlen:
                out[..., shift:].addcmul_(x[..., :seqlen - shift], w[:, j])
        ctx.save_for_backward(x, weight)
        return out

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, weight = ctx.saved_tensors
        taps = weight.shape[-1]
        seqlen = x.shape[-1]
        w = weight.reshape(weight.shape[0], taps, 1)
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_x = grad * w[:, taps - 1]
            for j in range(taps - 1):
                shift = taps - 1 - j
                if shift < seqlen:
                    grad_x[..., :seqlen - shift].addcmul_(grad[..., shift:], w[:, j])
        if ctx.needs_input_grad[1]:
            grad_w = torch.zeros_like(weight)
            for j in range(taps):
                shift = taps - 1 - j
                if shift < seqlen:
                    # vecdot reduces without materializing the product (5x faster than mul + sum on CPU).
                    grad_w[:, 0, j] = torch.linalg.vecdot(grad[..., shift:], x[..., :seqlen - shift]).sum(dim=0)
        if ctx.needs_input_grad[2]:
            grad_b = grad.sum(dim=(0, 2))
        return grad_x, grad_w, grad_b


class Sin(nn.Module):
    """sin(freq * x) with a learnable frequency per feature."""

    def __init__(self, dim: int, w: float):
        super().__init__()
        self.freq = nn.Parameter(w * torch.ones(1, dim))

    def forward(self, x: Tensor) -> Tensor:
        return torch.sin(self.freq * x)


class PositionalEmbedding(nn.Module):
    """Filter-MLP input features: normalized time t in [0, 1] and (emb_dim - 1) / 2 complex-exponential bands."""

    def __init__(self, emb_dim: int, seq_len: int):
        super().__init__()
        t = torch.linspace(0, 1, seq_len)[None, :, None]
        bands = (emb_dim - 1) // 2
        angle = 2 * math.pi * torch.linspace(0, seq_len - 1, seq_len)[None, :, None] / seq_len
        f = torch.linspace(1e-4, bands - 1, bands)[None, None]
        # exp(-i f w): real part cos(f w), imaginary part -sin(f w).
        self.register_buffer("z", torch.cat([t, torch.cos(f * angle), -torch.sin(f * angle)], dim=-1))
        self.register_buffer("t", t)

    def forward(self, seqlen: int) -> tuple[Tensor, Tensor]:
        return self.z[:, :seqlen], self.t[:, :seqlen]


class ExponentialModulation(nn.Module):
    """Per-channel exponential decay window applied to the implicit filter, fast to slow across channels."""

    def __init__(self, d_model: int, fast_decay_pct: float, slow_decay_pct: float, target: float, shift: float):
        super().__init__()
        self.shift = shift
        max_decay = math.log(target) / fast_decay_pct
        min_decay = math.log(target) / slow_decay_pct
        self.register_buffer("deltas", torch.linspace(min_decay, max_decay, d_model)[None, None])

    def forward(self, t: Tensor, x: Tensor) -> Tensor:
        decay = torch.exp(-t * self.deltas.abs())
        return x * (decay + self.shift)


class HyenaFilter(nn.Module):
    """Implicit long filter: an MLP with sine activations over positional features, times a decay window."""

    def __init__(self, channels: int, config: HyenaDNAConfig):
        super().__init__()
        self.modulate = config.modulate
        self.bias = nn.Parameter(torch.randn(channels))
        self.pos_emb = PositionalEmbedding(config.emb_dim, config.l_max)
        # One Sin module shared by all activations, as released: its `freq` appears under three state_dict keys.
        act = Sin(config.filter_order, config.sine_freq)
        width = config.filter_order
        self.implicit_filter = nn.Sequential(
            nn.Linear(config.emb_dim, width), act,
            nn.Linear(width, width), act,
            nn.Linear(width, width), act,
            nn.Linear(width, channels, bias=False),
        )
        self.modulation = ExponentialModulation(
            channels, config.fast_decay_pct, config.slow_decay_pct, config.modulation_target, config.shift)

    def filter(self, seqlen: int) -> Tensor:
        """The filter over the first `seqlen` positions, [1, seqlen, channels], computed without autocast.

        It does not depend on the batch, so full precision costs little and keeps long filters accurate.
        """
        z, t = self.pos_emb(seqlen)
        with _no_autocast(z.device):
            h = self.implicit_filter(z.to(self.implicit_filter[0].weight.dtype))
            if self.modulate:
                h = self.modulation(t, h)
        return h


class HyenaOperator(nn.Module):
    """Order-N Hyena: projections, short causal conv, then N-1 rounds of gating and implicit long convolution.

    In eval mode without gradients for the filter (embedding, scoring, validation) the long filter and its
    spectrum do not depend on the batch: they are computed once per length and kept until a filter weight
    changes (in-place update, load_state_dict, a move to another device or dtype) or the module enters train().
    """

    def __init__(self, config: HyenaDNAConfig):
        super().__init__()
        self.d_model = config.d_model
        self.order = config.hyena_order
        self.l_max = config.l_max
        width = config.d_model * (config.hyena_order + 1)
        self.in_proj = nn.Linear(config.d_model, width)
        self.out_proj = nn.Linear(config.d_model, config.d_model)
        self.short_filter = nn.Conv1d(width, width, config.short_filter_order, groups=width,
                                      padding=config.short_filter_order - 1)
        self.dropout = nn.Dropout(config.hyena_dropout)
        self.filter_fn = HyenaFilter(config.d_model * (config.hyena_order - 1), config)
        self._filter_cache: tuple | None = None

    def train(self, mode: bool = True) -> HyenaOperator:
        self._filter_cache = None
        return super().train(mode)

    def _filter_state(self, seqlen: int) -> tuple:
        """What the filter and its spectrum depend on: every filter tensor's storage and version, and the length."""
        tensors = [*self.filter_fn.parameters(), *self.filter_fn.buffers()]
        return (seqlen, *((t.data_ptr(), t._version, t.dtype, t.device) for t in tensors))

    def _long_filter(self, seqlen: int) -> Tensor:
        rounds = self.order - 1
        # Released filter channels interleave the rounds: channel c * rounds + o belongs to round o.
        h = self.filter_fn.filter(seqlen)[0]
        return h.transpose(0, 1).reshape(self.d_model, rounds, seqlen).transpose(0, 1)

    def long_filter(self, seqlen: int) -> tuple[Tensor, Tensor | None]:
        """The long filter [rounds, d_model, L] and, when it is constant here, its cached spectrum (else None)."""
        filter_is_constant = not self.training and not (
            torch.is_grad_enabled() and any(p.requires_grad for p in self.filter_fn.parameters()))
        # Weights created under inference_mode have no version counter to key the cache on: no cache for them.
        cacheable = filter_is_constant and not any(p.is_inference() for p in self.filter_fn.parameters())
        if not cacheable:
            self._filter_cache = None
            return self._long_filter(seqlen), None
        state = self._filter_state(seqlen)
        if self._filter_cache is None or self._filter_cache[0] != state:
            # Plain tensors even under inference_mode, so that a later call with gradients for u may save them.
            with torch.inference_mode(False), torch.no_grad():
                k = self._long_filter(seqlen)
                with _no_autocast(k.device):
                    k_f = torch.fft.rfft(k.float(), n=fft_size(seqlen))
            self._filter_cache = (state, k, k_f)
        return self._filter_cache[1], self._filter_cache[2]

    def forward(self, u: Tensor) -> Tensor:
        seqlen = u.shape[1]
        # in_proj straight into the [B, channels, L] layout the convolutions read (no transposed copy).
        proj = torch.baddbmm(self.in_proj.bias.unsqueeze(-1), self.in_proj.weight.expand(u.shape[0], -1, -1),
                             u.transpose(1, 2))
        # The released causal short convolution (symmetric padding, first L outputs kept), computed directly.
        # Under autocast the projection is half precision: the filter follows it, as autocast's conv1d would.
        proj = _CausalDepthwiseConv.apply(proj, self.short_filter.weight.to(proj.dtype),
                                          self.short_filter.bias.to(proj.dtype))
        *gates, v = proj.split(self.d_model, dim=1)

        rounds = self.order - 1
        k, k_f = self.long_filter(seqlen)
        skip = self.filter_fn.bias.reshape(self.d_model, rounds).transpose(0, 1)
        for o, gate in enumerate(reversed(gates[1:])):
            v = self.dropout(v * gate)
            v = fft_long_conv(v, k[o], skip[o], None if k_f is None else k_f[o])
        # out_proj reads the [B, d_model, L] product as [B, L, d_model] through the batched GEMM's strides.
        y = (v * gates[0]).transpose(1, 2)
        return torch.baddbmm(self.out_proj.bias, y, self.out_proj.weight.t().expand(u.shape[0], -1, -1))


class Mlp(nn.Module):
    def __init__(self, d_model: int, d_inner: int):
        super().__init__()
        self.fc1 = nn.Linear(d_model, d_inner)
        self.fc2 = nn.Linear(d_inner, d_model)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


class Block(nn.Module):
    """Pre-norm block that receives and returns the residual stream separately from the branch output.

    dropout1 acts on the previous block's MLP output (on the embeddings for the first block), dropout2 on the
    mixer output, each before it joins the residual stream.
    """

    def __init__(self, config: HyenaDNAConfig, first: bool):
        super().__init__()
        self.residual_in_fp32 = config.residual_in_fp32
        self.dropout1 = nn.Dropout(config.embed_dropout if first else config.resid_dropout)
        self.norm1 = nn.LayerNorm(config.d_model, eps=config.layer_norm_epsilon)
        self.mixer = HyenaOperator(config)
        self.dropout2 = nn.Dropout(config.resid_dropout)
        self.norm2 = nn.LayerNorm(config.d_model, eps=config.layer_norm_epsilon)
        self.mlp = Mlp(config.d_model, config.d_inner)

    def _add(self, branch: Tensor, residual: Tensor | None) -> Tensor:
        residual = branch if residual is None else branch + residual
        return residual.float() if self.residual_in_fp32 else residual

    def forward(self, hidden: Tensor, residual: Tensor | None) -> tuple[Tensor, Tensor]:
        residual = self._add(self.dropout1(hidden), residual)
        hidden = self.mixer(self.norm1(residual.to(self.norm1.weight.dtype)))
        residual = self._add(self.dropout2(hidden), residual)
        hidden = self.mlp(self.norm2(residual.to(self.norm2.weight.dtype)))
        return hidden, residual


class Embeddings(nn.Module):
    def __init__(self, config: HyenaDNAConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.padded_vocab_size, config.d_model)

    def forward(self, input_ids: Tensor) -> Tensor:
        return self.word_embeddings(input_ids)


class Backbone(nn.Module):
    def __init__(self, config: HyenaDNAConfig):
        super().__init__()
        self.l_max = config.l_max
        self.activation_checkpointing = config.activation_checkpointing
        self.embeddings = Embeddings(config)
        self.layers = nn.ModuleList([Block(config, first=i == 0) for i in range(config.n_layer)])
        self.drop_f = nn.Dropout(config.resid_dropout)
        self.ln_f = nn.LayerNorm(config.d_model, eps=config.layer_norm_epsilon)

    def forward(self, input_ids: Tensor) -> Tensor:
        if input_ids.shape[1] > self.l_max:
            raise ValueError(f"sequence length {input_ids.shape[1]} exceeds the model's l_max {self.l_max}")
        hidden = self.embeddings(input_ids)
        residual = None
        checkpointing = self.activation_checkpointing and self.training and torch.is_grad_enabled()
        for layer in self.layers:
            if checkpointing:
                # Non-reentrant checkpointing replays dropout with the saved RNG state: same gradients.
                hidden, residual = torch.utils.checkpoint.checkpoint(layer, hidden, residual, use_reentrant=False)
            else:
                hidden, residual = layer(hidden, residual)
        dropped = self.drop_f(hidden)
        residual = dropped if residual is None else dropped + residual
        return self.ln_f(residual.to(self.ln_f.weight.dtype))


def _init_weights(model: nn.Module, n_layer: int, std: float = 0.02) -> None:
    """GPT-2 style initialization, as in the released training code (including the filter MLP's linears)."""
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=std)
            if getattr(module, "bias", None) is not None:
                nn.init.zeros_(module.bias)
    # Scale the projections that write into the residual stream by 1/sqrt(2 n_layer) (two per block).
    for name, p in model.named_parameters():
        if name.endswith(("mixer.out_proj.weight", "mlp.fc2.weight")):
            nn.init.normal_(p, std=std / math.sqrt(2 * n_layer))


class HyenaDNA(nn.Module):
    """HyenaDNA backbone with the LM head tied to the word embeddings."""

    def __init__(self, config: HyenaDNAConfig):
        super().__init__()
        self.config = config
        self.backbone = Backbone(config)
        self.lm_head = nn.Linear(config.d_model, config.padded_vocab_size, bias=False)
        _init_weights(self, config.n_layer)
        self.lm_head.weight = self.backbone.embeddings.word_embeddings.weight

    def hidden_states(self, input_ids: Tensor) -> Tensor:
        """[B, L, d_model] after the final LayerNorm; L must not exceed l_max."""
        return self.backbone(input_ids)

    def forward(self, input_ids: Tensor) -> Tensor:
        """Next-token logits [B, L, padded vocab]."""
        return self.lm_head(self.hidden_states(input_ids))

    def set_activation_checkpointing(self, enabled: bool) -> None:
        """Turn per-block activation checkpointing on or off (a training option; the config records it)."""
        self.config = dataclasses.replace(self.config, activation_checkpointing=bool(enabled))
        self.backbone.activation_checkpointing = bool(enabled)

    def num_parameters(self) -> int:
        # parameters() yields shared tensors once, so the tied head and the shared Sin count once.
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    @classmethod
    def from_released(cls, path: str | os.PathLike, shift: float = 0.0, map_location: Any = "cpu",
                      config_overrides: dict | None = None) -> HyenaDNA:
        """Load a released checkpoint directory, a Hugging Face port directory, or a .ckpt beside a config.json.

        `shift` is the exponential-modulation shift to evaluate with (released configs do not record it: 0.0
        reproduces the training code, 0.05 the standalone and Hugging Face ports). The positional buffers'
        length in the checkpoint sets l_max, unless `config_overrides` sets l_max, in which case the buffers
        are recomputed for it. Loading is strict: missing or unexpected keys are errors.
        """
        config_path, weights_path = _locate_checkpoint(Path(path))
        try:
            raw = json.loads(config_path.read_text())
            config = HyenaDNAConfig.from_released(raw)
        except (OSError, ValueError) as e:
            raise GenolmInputError(config_path, f"cannot read HyenaDNA config: {e}") from e

        state = _strip_prefixes(_read_state_dict(weights_path, map_location))
        overrides = dict(config_overrides or {})
        z_key = "backbone.layers.0.mixer.filter_fn.pos_emb.z"
        regenerate_positions = "l_max" in overrides
        if z_key in state and not regenerate_positions:
            config = dataclasses.replace(config, l_max=int(state[z_key].shape[1]))
        try:
            config = dataclasses.replace(config, shift=float(shift), **overrides)
        except TypeError as e:
            raise ValueError(f"bad config_overrides {sorted(overrides)}: {e}") from e

        model = cls(config)
        if regenerate_positions:
            state = {k: v for k, v in state.items() if not re.search(r"\.pos_emb\.[zt]$", k)}
        model._load_strict(state, weights_path, allow_missing_positions=regenerate_positions)
        return model.to(map_location)

    def _load_strict(self, state: dict[str, Tensor], source: Path, allow_missing_positions: bool) -> None:
        expected = self.state_dict(keep_vars=True)
        # Keys naming the same tensor (the tied head, the shared Sin frequency): a checkpoint may store only one
        # of them (safetensors de-duplicates), but stored copies must agree.
        aliases: dict[int, list[str]] = {}
        for key, tensor in expected.items():
            aliases.setdefault(id(tensor), []).append(key)
        missing = []
        for keys in aliases.values():
            present = [k for k in keys if k in state]
            if not present:
                if allow_missing_positions and re.search(r"\.pos_emb\.[zt]$", keys[0]):
                    continue
                missing.extend(keys)
            elif any(not torch.equal(state[present[0]], state[k]) for k in present[1:]):
                raise GenolmInputError(source, f"tied tensors differ in the checkpoint: {', '.join(present)}")
        unexpected = sorted(set(state) - set(expected))
        if missing or unexpected:
            parts = []
            if missing:
                parts.append(f"missing keys: {_key_list(sorted(missing))}")
            if unexpected:
                parts.append(f"unexpected keys: {_key_list(unexpected)}")
            raise GenolmInputError(source, "checkpoint does not match the HyenaDNA config; " + "; ".join(parts))
        try:
            self.load_state_dict(state, strict=False)
        except RuntimeError as e:
            raise GenolmInputError(source, f"checkpoint does not match the HyenaDNA config: {e}") from e

    def save_released(self, directory: str | os.PathLike) -> None:
        """Write config.json and weights.ckpt in the released Lightning layout (keys prefixed `model.`)."""
        state = {"model." + k: v.detach().cpu() for k, v in self.state_dict().items()}
        write_model_files(directory, {  # config.json is renamed into place last
            "config.json": lambda tmp: tmp.write_text(json.dumps(self.config.to_released(), indent=2) + "\n"),
            "weights.ckpt": lambda tmp: torch.save({"state_dict": state}, tmp),
        })


def _key_list(keys: list[str], limit: int = 20) -> str:
    shown = ", ".join(keys[:limit])
    return shown if len(keys) <= limit else f"{shown} and {len(keys) - limit} more"


def _locate_checkpoint(path: Path) -> tuple[Path, Path]:
    if path.is_file():
        config_path = path.parent / "config.json"
        weights_path = path
    elif path.is_dir():
        config_path = path / "config.json"
        candidates = [path / n for n in ("weights.ckpt", "model.safetensors", "pytorch_model.bin")]
        found = [p for p in candidates if p.is_file()]
        if not found:
            raise GenolmInputError(path, "no HyenaDNA weights: expected weights.ckpt, model.safetensors "
                                         "or pytorch_model.bin in this directory")
        weights_path = found[0]
    else:
        raise GenolmInputError(path, "no such checkpoint file or directory")
    if not config_path.is_file():
        raise GenolmInputError(config_path, f"missing: a HyenaDNA config.json must sit beside {weights_path.name}")
    return config_path, weights_path


def _read_state_dict(weights_path: Path, map_location: Any) -> dict[str, Tensor]:
    try:
        if weights_path.suffix == ".safetensors":
            loaded: Any = load_safetensors(str(weights_path), device=str(map_location))
        else:
            loaded = torch.load(weights_path, map_location=map_location, weights_only=True)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError, ValueError, SafetensorError) as e:
        raise GenolmInputError(weights_path, f"cannot read checkpoint (weights-only loading): {e}") from e
    if isinstance(loaded, dict) and isinstance(loaded.get("state_dict"), dict):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, dict) or not all(isinstance(v, Tensor) for v in loaded.values()):
        raise GenolmInputError(weights_path, "not a state dict of tensors (nor a Lightning checkpoint holding one)")
    return loaded


def _strip_prefixes(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """Remove Lightning's `model.` and the Hugging Face port's `hyena.` prefixes."""
    stripped = {}
    for key, value in state.items():
        for prefix in ("model.", "hyena."):
            if key.startswith(prefix):
                key = key[len(prefix):]
                break
        stripped[key] = value
    return stripped
