"""genolm's HyenaDNA fast paths against the reference formulation: smooth FFT sizes, the FFT convolution's own
backward, the eval-mode filter cache and per-block activation checkpointing."""

import dataclasses

import pytest
import torch

from genolm import tokenizers
from genolm.errors import GenolmInputError
from genolm.models import hyenadna
from genolm.models.hyenadna import HyenaDNA, HyenaDNAConfig, fft_long_conv, fft_size
from genolm.training.builders import build_backbone


def reference_fft_conv(u, k, skip):
    """The reference's formulation: FFT size exactly 2L, autograd through rfft/irfft."""
    seqlen = u.shape[-1]
    n = 2 * seqlen
    k_f = torch.fft.rfft(k, n=n) / n
    u_f = torch.fft.rfft(u, n=n)
    y = torch.fft.irfft(u_f * k_f, n=n, norm="forward")[..., :seqlen]
    return y + u * skip.unsqueeze(-1)


def direct_causal_conv(u, k, skip):
    """y[t] = sum_{s <= t} k[t - s] u[s] + skip u[t], in float64 without any FFT."""
    u64, k64 = u.double(), k.double()
    seqlen = u.shape[-1]
    y = torch.zeros_like(u64)
    for lag in range(seqlen):
        y[..., lag:] += k64[:, lag:lag + 1] * u64[..., :seqlen - lag]
    return y + u64 * skip.double().unsqueeze(-1)


def rel_err(a, b):
    return ((a.double() - b.double()).norm() / b.double().norm()).item()


def is_7_smooth(n):
    for p in (2, 3, 5, 7):
        while n % p == 0:
            n //= p
    return n == 1


def small_config(**kw):
    base = dict(d_model=16, n_layer=2, d_inner=32, l_max=4099, filter_order=8, shift=0.05)
    return HyenaDNAConfig(**{**base, **kw})


def test_fft_size_is_the_smallest_smooth_multiple_of_16_without_wraparound():
    for seqlen in list(range(1, 1100)) + [4097, 16385, 32769]:
        n = fft_size(seqlen)
        assert n >= 2 * seqlen - 1 and n % 16 == 0 and is_7_smooth(n)
        assert not any(is_7_smooth(m) for m in range(max(2 * seqlen - 1, 16), n) if m % 16 == 0)
    assert [fft_size(L) for L in (1024, 1025, 16384, 16385)] == [2048, 2160, 32768, 32928]


@pytest.mark.parametrize("seqlen", [1, 7, 64, 1025])
def test_fft_conv_is_the_causal_convolution(seqlen):
    torch.manual_seed(seqlen)
    u, k, skip = torch.randn(2, 3, seqlen), torch.randn(3, seqlen), torch.randn(3)
    expected = direct_causal_conv(u, k, skip)
    assert rel_err(fft_long_conv(u, k, skip), expected) < 1e-6
    assert rel_err(fft_long_conv(u, k, skip), reference_fft_conv(u, k, skip)) < 1e-6


@pytest.mark.parametrize("seqlen", [5, 33])
def test_fft_conv_backward_passes_gradcheck(seqlen):
    torch.manual_seed(0)
    u = torch.randn(2, 3, seqlen, dtype=torch.float64, requires_grad=True)
    k = torch.randn(3, seqlen, dtype=torch.float64, requires_grad=True)
    skip = torch.randn(3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda u, k, s: hyenadna._FFTConv.apply(u, k, s, fft_size(seqlen), None),
                                    (u, k, skip))


@pytest.mark.parametrize("seqlen", [1025, 4097])
def test_fft_conv_gradients_match_the_reference_formulation(seqlen):
    torch.manual_seed(1)
    inputs = [torch.randn(2, 4, seqlen), torch.randn(4, seqlen) / seqlen, torch.randn(4)]
    grad_out = torch.randn(2, 4, seqlen)
    grads = []
    for conv in (fft_long_conv, reference_fft_conv):
        leaves = [x.clone().requires_grad_() for x in inputs]
        conv(*leaves).backward(grad_out)
        grads.append([leaf.grad for leaf in leaves])
    for fast, reference in zip(*grads):
        assert rel_err(fast, reference) < 1e-6


@pytest.mark.parametrize("seqlen", [1025, 4097])
def test_model_matches_the_reference_path(seqlen, monkeypatch):
    """The whole model, forward and gradients, with the fast convolution and with the reference's."""
    torch.manual_seed(0)
    model = HyenaDNA(small_config(embed_dropout=0.0))
    ids = torch.randint(7, 11, (2, seqlen))

    def run():
        model.zero_grad(set_to_none=True)
        hidden = model.hidden_states(ids)
        hidden.square().mean().backward()
        return hidden.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}

    fast_hidden, fast_grads = run()
    monkeypatch.setattr(hyenadna, "fft_long_conv", lambda u, k, skip, k_f=None: reference_fft_conv(u, k, skip))
    ref_hidden, ref_grads = run()
    assert rel_err(fast_hidden, ref_hidden) < 1e-6
    for name, grad in ref_grads.items():
        assert rel_err(fast_grads[name], grad) < 1e-4, name  # float32 sums over 2 x L positions


def test_training_step_under_bf16_autocast():
    """bf16 autocast (the GPU path): the step runs, the FFTs stay float32, gradients stay close to float32's."""
    torch.manual_seed(0)
    model = HyenaDNA(small_config(embed_dropout=0.0))
    ids = torch.randint(7, 11, (2, 300))
    grads = []
    for enabled in (False, True):
        model.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=enabled):
            hidden = model.hidden_states(ids)
        hidden.float().square().mean().backward()
        grads.append({n: p.grad.float() for n, p in model.named_parameters()})
    for name, grad in grads[0].items():
        assert torch.isfinite(grads[1][name]).all(), name
        assert rel_err(grads[1][name], grad) < 0.1, name


def eval_hidden(model, ids):
    with torch.no_grad():
        return model.hidden_states(ids)


def test_eval_cache_is_reused_and_invalidated_when_weights_change():
    torch.manual_seed(0)
    model = HyenaDNA(small_config()).eval()
    mixer = model.backbone.layers[0].mixer
    ids = torch.randint(7, 11, (2, 300))
    first = eval_hidden(model, ids)
    cached = mixer._filter_cache
    assert cached is not None and cached[0][0] == 300
    assert torch.equal(eval_hidden(model, ids), first)
    assert mixer._filter_cache is cached  # reused, not recomputed

    # An in-place weight update (as an optimizer step does) changes the filter: the cache follows.
    with torch.no_grad():
        mixer.filter_fn.implicit_filter[0].weight.mul_(1.5)
    updated = eval_hidden(model, ids)
    assert mixer._filter_cache is not cached
    fresh = HyenaDNA(small_config()).eval()
    fresh.load_state_dict(model.state_dict())
    assert torch.equal(updated, eval_hidden(fresh, ids))
    assert not torch.allclose(updated, first)

    # load_state_dict copies in place: the cache sees the old weights come back.
    torch.manual_seed(0)
    original = HyenaDNA(small_config())
    model.load_state_dict(original.state_dict())
    assert torch.equal(eval_hidden(model, ids), first)

    # Another length is another filter.
    assert eval_hidden(model, ids[:, :100]).shape == (2, 100, 16)
    assert mixer._filter_cache[0][0] == 100

    model.train()
    assert mixer._filter_cache is None


def test_no_cache_where_the_filter_needs_gradients():
    torch.manual_seed(0)
    model = HyenaDNA(small_config())
    ids = torch.randint(7, 11, (1, 64))
    mixer = model.backbone.layers[0].mixer
    model.train()
    model.hidden_states(ids).sum().backward()
    assert mixer._filter_cache is None
    # eval mode with gradients (e.g. attribution): the filter still receives its gradient.
    model.zero_grad()
    model.eval()
    model.hidden_states(ids).sum().backward()
    assert mixer._filter_cache is None
    assert mixer.filter_fn.implicit_filter[0].weight.grad.abs().sum() > 0
    # frozen filter under autograd: cached, and the input still gets its gradient
    for p in model.parameters():
        p.requires_grad_(False)
    embeddings = model.backbone.embeddings.word_embeddings.weight
    embeddings.requires_grad_(True)
    with torch.inference_mode():
        model.hidden_states(ids)  # the cache is filled under inference mode ...
    model.hidden_states(ids).sum().backward()  # ... and saved for backward outside it
    assert mixer._filter_cache is not None and embeddings.grad.abs().sum() > 0


def test_activation_checkpointing_gives_equal_gradients():
    torch.manual_seed(0)
    config = small_config(embed_dropout=0.1, resid_dropout=0.1, n_layer=3)
    plain = HyenaDNA(config).train()
    checkpointed = HyenaDNA(dataclasses.replace(config, activation_checkpointing=True)).train()
    checkpointed.load_state_dict(plain.state_dict())
    ids = torch.randint(7, 11, (2, 200))
    grads, losses = [], []
    for model in (plain, checkpointed):
        torch.manual_seed(123)  # the same dropout masks
        loss = model(ids).logsumexp(-1).mean()
        loss.backward()
        losses.append(loss.item())
        grads.append({n: p.grad for n, p in model.named_parameters()})
    assert losses[0] == losses[1]
    for name, grad in grads[0].items():
        assert torch.allclose(grads[1][name], grad, rtol=1e-5, atol=1e-7), name
    assert HyenaDNAConfig.from_released(checkpointed.config.to_released()).activation_checkpointing


def test_train_spec_sets_activation_checkpointing(tmp_path):
    tokenizer = tokenizers.build("character")
    spec = {"name": "hyenadna", "d_model": 16, "n_layer": 1, "d_inner": 32, "l_max": 66, "filter_order": 8,
            "activation_checkpointing": True}
    backbone = build_backbone(spec, "random", tokenizer, seed=0)
    assert backbone.config.activation_checkpointing and backbone.model.backbone.activation_checkpointing
    backbone.save_pretrained(tmp_path / "model")
    # A loaded checkpoint takes the option from the spec.
    loaded = build_backbone({"checkpoint": str(tmp_path / "model"), "activation_checkpointing": False},
                            "pretrained", tokenizer, seed=0)
    assert not loaded.model.backbone.activation_checkpointing
    with pytest.raises(GenolmInputError, match="activation_checkpointing"):
        build_backbone({"name": "cnn", "activation_checkpointing": True}, "random", tokenizer, seed=0)
