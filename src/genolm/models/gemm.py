"""float32 linear layers on oneDNN's GEMM on the CPU (`onednn_linear()`), forward and backward.

PyTorch's CPU `linear` and `matmul` in float32 call MKL, which takes its AVX2 code on a CPU it does not recognise
as Intel (AMD Zen: about half the AVX-512 FMA rate; docs/performance.md). oneDNN, which PyTorch ships, selects
AVX-512 by the CPU's features. `torch.ops.mkldnn._linear_pointwise` is the oneDNN linear that PyTorch's own CPU
compiler (Inductor) emits; it has no autograd formula, so `_OneDNNLinear` gives it one:

    y       = x W^T + b      oneDNN (the layer's GEMM)
    grad_x  = g W            oneDNN (the same op on W^T)
    grad_W  = g^T x          MKL (`mm`): a reduction over the batch x length rows, where MKL was the faster of
                             the two (docs/performance.md#the-cpu-limit-each-training-step-as-a-fraction-of-this-machines-peak)
    grad_b  = sum of g over rows

All products accumulate in float32, as MKL's do; they differ from MKL's in summation order only (rounding:
tests/test_gemm.py compares gradients with float64 and with the default path). `onednn_linear()` is a
`torch.overrides.TorchFunctionMode` (PyTorch's documented extension point): inside it every
`torch.nn.functional.linear` (every `nn.Linear`, including those of Hugging Face models) on float32 CPU tensors
takes this route, and so does a `torch.baddbmm` with a batch-expanded 2-D weight (HyenaDNA's in_proj and
out_proj); anything else (autocast, other dtypes, CUDA, 1-D inputs) runs PyTorch's own op.

The mode sees every torch call (a Python check each), so it pays only where the GEMMs are large enough:
`linear_routing(model, precision, rows)` enters it for a job on the CPU, in float32, whose typical linear call
does at least ONEDNN_MIN_MACS multiply-adds: `rows` (batch x tokens) x the median layer's width squared. The gain
grows with each GEMM's size and the cost with the number of calls; by the widest layer alone, width-64 transformers
(whose feed-forward output layer reads 256) were routed and paid for it. Measured on this 2-core machine (docs/performance.md, "oneDNN routing"): a demo
32K HyenaDNA fine-tuning (width 128, 16 x 513 rows: 1.3e8) 8 % faster with the mode; the demo's Longformer (width
128, 32 x 64 rows: 3.4e7) 4 % slower, its BERT (width 64, 32 x 150 rows: 2.0e7) 4 to 9 % and its ENBED (width 64,
32 x 25 rows: 3.3e6) 13 to 18 % slower; a bfloat16 job gains nothing (autocast's linear is not float32) and pays the
checks.
"""

from __future__ import annotations

import contextlib
import statistics

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.overrides import TorchFunctionMode


# Multiply-adds of a typical linear call (rows x median width squared) from which a job was measured to train
# faster on oneDNN than through the mode's overhead: between the Longformer's 3.4e7 (slower) and HyenaDNA's 1.3e8.
ONEDNN_MIN_MACS = 1e8


def onednn_available() -> bool:
    """oneDNN is built into this torch and its linear op is registered."""
    return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")


def _dnn_linear(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")


class _OneDNNLinear(torch.autograd.Function):
    """On rows (2-D input): oneDNN returns a view for an N-D input, and autograd forbids modifying a custom
    Function's view output in place (Longformer scales its query projection with `/=`); `_linear` reshapes
    outside the Function instead, where autograd tracks the view."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        return _dnn_linear(x, weight, bias)

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, weight = ctx.saved_tensors
        grad_x = grad_weight = grad_bias = None
        rows = grad.reshape(-1, grad.shape[-1])
        if ctx.needs_input_grad[0]:
            grad_x = _dnn_linear(grad, weight.t(), None)
        if ctx.needs_input_grad[1]:
            grad_weight = rows.t().mm(x.reshape(-1, x.shape[-1]))
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_bias = rows.sum(0)
        return grad_x, grad_weight, grad_bias


def _linear(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    rows = _OneDNNLinear.apply(x.reshape(-1, x.shape[-1]), weight, bias)
    return rows.view(*x.shape[:-1], weight.shape[0])


def _eligible(x: Tensor, weight: Tensor, bias: Tensor | None) -> bool:
    tensors = (x, weight) if bias is None else (x, weight, bias)
    return (x.dim() >= 2 and weight.dim() == 2
            and all(t.device.type == "cpu" and t.dtype == torch.float32 and t.layout == torch.strided
                    for t in tensors)
            and not torch.is_autocast_enabled("cpu"))


class onednn_linear(TorchFunctionMode):  # noqa: N801 - used as a context manager, like torch.no_grad
    """Inside this context, float32 CPU `linear` runs on oneDNN (forward and backward); see the module docstring."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is F.linear:
            x, weight, *rest = args
            bias = rest[0] if rest else kwargs.get("bias")
            if _eligible(x, weight, bias):
                return _linear(x, weight, bias)
        elif func is torch.baddbmm and len(args) == 3 and not kwargs:
            out = _shared_weight_baddbmm(*args)
            if out is not None:
                return out
        return func(*args, **kwargs)


def _shared_weight(t: Tensor) -> bool:
    # A 2-D weight expanded over the batch (stride 0), as HyenaDNA's projections pass it to `baddbmm`.
    return t.dim() == 3 and t.stride(0) == 0


def _shared_weight_baddbmm(bias: Tensor, a: Tensor, b: Tensor) -> Tensor | None:
    """`baddbmm(bias, a, b)` with one of `a`, `b` a batch-expanded weight, as a linear layer on oneDNN; None if
    the call has another form. HyenaDNA's out_proj is `y @ W^T + bias` ([B, L, d] out); its in_proj writes
    `W @ u^T + bias` as [B, channels, L]: the linear's [B, L, channels] result transposed and made contiguous
    (the layout the convolutions read)."""
    if _shared_weight(b) and not _shared_weight(a) and bias.dim() == 1:
        weight = b[0].t()
        if _eligible(a, weight, bias):
            return _linear(a, weight, bias)
    elif _shared_weight(a) and not _shared_weight(b) and bias.dim() == 2 and bias.shape[-1] == 1:
        weight, x = a[0], b.transpose(1, 2)
        if _eligible(x, weight, bias):
            return _linear(x, weight, bias[:, 0]).transpose(1, 2).contiguous()
    return None


def onednn_pays(model: torch.nn.Module, precision: str, rows: int) -> bool:
    """Whether `model` trains faster inside `onednn_linear` (see the module docstring): oneDNN is there, no CUDA,
    float32 (`precision` as Lightning resolved it) and `rows` (batch x tokens) x its median linear layer's width
    squared at least ONEDNN_MIN_MACS."""
    if precision != "32-true" or not onednn_available() or torch.cuda.is_available():
        return False
    widths = [m.in_features for m in model.modules() if isinstance(m, torch.nn.Linear)]
    return bool(widths) and rows * statistics.median_low(widths) ** 2 >= ONEDNN_MIN_MACS


def linear_routing(model: torch.nn.Module, precision: str, rows: int) -> contextlib.AbstractContextManager:
    """`onednn_linear()` where it pays for this model, precision and batch (`rows`: batch x tokens), else nothing."""
    return onednn_linear() if onednn_pays(model, precision, rows) else contextlib.nullcontext()
