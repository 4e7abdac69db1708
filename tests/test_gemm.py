"""genolm.models.gemm.onednn_linear: float32 linear layers (and HyenaDNA's projections) on oneDNN, forward and
backward, within float32 rounding of PyTorch's default path; the golden vectors hold under it."""

import contextlib
import copy

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from genolm import models, tokenizers
from genolm.models.gemm import onednn_available, onednn_linear
from genolm.models.hyenadna import HyenaDNA, HyenaDNAConfig
from test_hyenadna import CASES, golden_case, rel_err

pytestmark = pytest.mark.skipif(not onednn_available(), reason="this torch has no oneDNN")


class OpLog(TorchDispatchMode):
    """Records the name of every ATen/oneDNN op that runs."""

    def __init__(self):
        super().__init__()
        self.ops = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.append(str(func.overloadpacket))
        return func(*args, **(kwargs or {}))


def no_dropout_hyenadna():
    config = HyenaDNAConfig(d_model=32, n_layer=2, d_inner=64, l_max=130, filter_order=16, embed_dropout=0.0,
                            resid_dropout=0.0, hyena_dropout=0.0)
    torch.manual_seed(0)
    return HyenaDNA(config).train()


def tiny_bert():
    torch.manual_seed(0)
    tokenizer = tokenizers.build("kmer", k=3)
    model = models.build("bert", {"preset": "bert-tiny", "hidden_size": 32, "intermediate_size": 64,
                                  "num_attention_heads": 2, "max_position_embeddings": 64,
                                  "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0},
                         tokenizer=tokenizer)
    return model.train(), tokenizer.vocab_size


def gradients(model, ids, mode=None):
    model.zero_grad(set_to_none=True)
    with mode if mode is not None else torch.enable_grad():
        out = model(ids)
        logits = out if isinstance(out, torch.Tensor) else out.logits
        loss = logits.double().logsumexp(-1).mean()
    loss.backward()
    return {name: p.grad.double().clone() for name, p in model.named_parameters() if p.grad is not None}


def worst(a, b):
    """The largest per-parameter difference, relative to that gradient's norm, or to a thousandth of the whole
    gradient's where a parameter's is (near) zero (BERT's unused token-type row: float32 noise over float64 zero)."""
    floor = 1e-3 * torch.cat([g.flatten() for g in b.values()]).norm()
    return max(((a[name] - b[name]).norm() / torch.maximum(b[name].norm(), floor)).item() for name in b)


@pytest.mark.parametrize("which", ["hyenadna", "bert"])
def test_gradients_within_float32_rounding(which):
    if which == "hyenadna":
        model, vocab = no_dropout_hyenadna(), 12
        ids = torch.randint(7, 11, (2, 129))
    else:
        model, vocab = tiny_bert()
        ids = torch.randint(5, vocab, (2, 48))
    exact = gradients(copy.deepcopy(model).double(), ids)
    default = gradients(model, ids)
    onednn = gradients(model, ids, onednn_linear())
    assert set(onednn) == set(default) == set(exact)
    # Both paths round the same float64 function; each must be as close to it as float32 allows, and to the other.
    assert worst(default, exact) < 1e-5
    assert worst(onednn, exact) < 1e-5
    assert worst(onednn, default) < 1e-5


def test_linear_layers_and_hyenadna_projections_run_on_onednn():
    model = no_dropout_hyenadna()
    ids = torch.randint(7, 11, (2, 129))
    log = OpLog()
    with onednn_linear(), log:
        model(ids).sum().backward()
    onednn_calls = log.ops.count("mkldnn._linear_pointwise")
    # Per block: in_proj, out_proj, fc1, fc2 and the filter MLP's 4 layers, forward and grad_input (but the filter
    # MLP's input, the positional embedding, needs no gradient); plus lm_head, forward and grad_input.
    n_layer = model.config.n_layer
    assert onednn_calls == 2 * (8 * n_layer + 1) - n_layer
    assert "aten.baddbmm" not in log.ops and "aten.addmm" not in log.ops

    log = OpLog()
    with log:
        model(ids).sum().backward()
    assert "mkldnn._linear_pointwise" not in log.ops  # outside the context, PyTorch's default path


def test_falls_back_under_autocast_and_for_other_dtypes():
    layer = torch.nn.Linear(8, 4)
    x = torch.randn(3, 8)
    log = OpLog()
    with onednn_linear(), log, torch.autocast("cpu", dtype=torch.bfloat16):
        out = layer(x)
    assert out.dtype == torch.bfloat16 and "mkldnn._linear_pointwise" not in log.ops
    log = OpLog()
    with onednn_linear(), log:
        out = layer.double()(x.double())
    assert out.dtype == torch.float64 and "mkldnn._linear_pointwise" not in log.ops


@pytest.mark.parametrize("name", CASES)
def test_golden_vectors_hold_on_onednn(name):
    case_dir, case, io = golden_case(name)
    model = HyenaDNA.from_released(case_dir, shift=case["shift"]).eval()
    with torch.no_grad(), onednn_linear():
        hidden = model.hidden_states(io["input_ids"])
        logits = model(io["input_ids"])
    assert rel_err(hidden, io["hidden_states"]) <= case["tolerance_relative"]
    assert rel_err(logits, io["logits"]) <= case["tolerance_relative"]


def test_an_output_modified_in_place_keeps_its_gradient():
    """Longformer scales its query projection in place (`query /= sqrt(d)`): allowed on the mode's output, and the
    gradient is that of the default path (oneDNN returns a view for a 3-D input; autograd forbids modifying a
    custom Function's view output in place, which broke every Longformer training step)."""
    torch.manual_seed(0)
    layer = torch.nn.Linear(8, 4)
    x = torch.randn(2, 5, 8, requires_grad=True)

    def scaled_sum(mode):
        with mode:
            out = layer(x)
            out /= 2.0
        return out.square().sum()

    expected = torch.autograd.grad(scaled_sum(contextlib.nullcontext()), (x, layer.weight, layer.bias))
    got = torch.autograd.grad(scaled_sum(onednn_linear()), (x, layer.weight, layer.bias))
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
