import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from genolm.errors import GenolmInputError
from genolm.models.hyenadna import HyenaDNA, HyenaDNAConfig

# Outputs of the pinned reference HyenaDNA on random weights, written by scripts/make_golden_vectors.py.
GOLDEN_DIR = Path(__file__).resolve().parent / "golden" / "hyenadna"
CASES = ["shift0", "shift005"]
# The committed cases' architecture (scripts/make_golden_vectors.py CONFIG), as genolm names it.
GOLDEN_CONFIG = HyenaDNAConfig(d_model=32, n_layer=2, d_inner=128, l_max=258, filter_order=16)


def golden_case(name):
    case_dir = GOLDEN_DIR / name
    return case_dir, json.loads((case_dir / "case.json").read_text()), load_file(str(case_dir / "io.safetensors"))


def test_golden_cases_cover_both_shifts_and_a_shorter_input():
    cases = {name: golden_case(name)[1] for name in CASES}
    assert {case["shift"] for case in cases.values()} == {0.0, 0.05}
    assert cases["shift005"]["seq_len"] < cases["shift0"]["seq_len"] == GOLDEN_CONFIG.l_max


def rel_err(a, b):
    return ((a - b).norm() / b.norm()).item()


def small_config(**kw):
    base = dict(d_model=16, n_layer=2, d_inner=32, l_max=66, filter_order=8)
    return HyenaDNAConfig(**{**base, **kw})


def eval_hidden(model, ids):
    with torch.no_grad():
        return model.eval().hidden_states(ids)


@pytest.mark.parametrize("name", CASES)
def test_golden_vectors(name):
    case_dir, case, io = golden_case(name)
    model = HyenaDNA.from_released(case_dir, shift=case["shift"]).eval()
    assert io["input_ids"].shape == (case["batch"], case["seq_len"])
    with torch.no_grad():
        hidden = model.hidden_states(io["input_ids"])
        logits = model(io["input_ids"])
    assert hidden.dtype == torch.float32
    assert rel_err(hidden, io["hidden_states"]) <= case["tolerance_relative"]
    assert rel_err(logits, io["logits"]) <= case["tolerance_relative"]


def test_golden_depends_on_shift():
    case_dir, case, io = golden_case("shift005")
    model = HyenaDNA.from_released(case_dir, shift=0.0)
    assert rel_err(eval_hidden(model, io["input_ids"]), io["hidden_states"]) > 1e-3


def test_published_parameter_counts():
    assert HyenaDNA(HyenaDNAConfig.preset("tiny-1k")).num_parameters() == 436_096
    small = HyenaDNAConfig.preset("small-32k")
    assert (small.d_model, small.n_layer, small.d_inner, small.l_max) == (256, 4, 1024, 32770)
    assert HyenaDNA(small).num_parameters() == 3_277_568


def test_released_config_layout():
    case_dir, _, _ = golden_case("shift0")
    config = HyenaDNAConfig.from_released(json.loads((case_dir / "config.json").read_text()))
    assert config == GOLDEN_CONFIG
    tweaked = HyenaDNAConfig(d_model=64, hyena_order=3, shift=0.05, sine_freq=3.0, residual_in_fp32=False)
    assert HyenaDNAConfig.from_released(json.loads(json.dumps(tweaked.to_released()))) == tweaked
    assert HyenaDNAConfig.preset("large-1m").with_context(4096).l_max == 4098
    with pytest.raises(ValueError, match="n_layer"):
        HyenaDNAConfig.from_released({"d_model": 8, "vocab_size": 12, "layer": {"l_max": 10}})


def test_hf_layout_checkpoint(tmp_path):
    """The Hugging Face port: flat config, `hyena.` prefix, tied and shared tensors stored once."""
    case_dir, _, io = golden_case("shift0")
    released = torch.load(case_dir / "weights.ckpt", weights_only=True)["state_dict"]
    state = {}
    for key, value in released.items():
        key = key.removeprefix("model.")
        if key == "lm_head.weight" or key.endswith(("implicit_filter.3.freq", "implicit_filter.5.freq")):
            continue
        state["hyena." + key] = value.clone()
    save_file(state, str(tmp_path / "model.safetensors"))
    c = GOLDEN_CONFIG
    hf_config = {"d_model": c.d_model, "n_layer": c.n_layer, "d_inner": c.d_inner, "vocab_size": 12,
                 "max_seq_len": c.l_max, "emb_dim": 5, "filter_order": c.filter_order, "short_filter_order": 3,
                 "activation_freq": 10, "hyena_order": 2, "num_inner_mlps": 2, "pad_vocab_size_multiple": 8}
    (tmp_path / "config.json").write_text(json.dumps(hf_config))
    model = HyenaDNA.from_released(tmp_path, shift=0.0)
    assert model.config == GOLDEN_CONFIG
    assert rel_err(eval_hidden(model, io["input_ids"]), io["hidden_states"]) <= 1e-5


def test_rejects_wrong_key_naming_it(tmp_path):
    case_dir, _, _ = golden_case("shift0")
    shutil.copy(case_dir / "config.json", tmp_path / "config.json")
    ckpt = torch.load(case_dir / "weights.ckpt", weights_only=True)
    state = ckpt["state_dict"]
    state["model.backbone.layers.1.mlp.fc_1.weight"] = state.pop("model.backbone.layers.1.mlp.fc1.weight")
    torch.save(ckpt, tmp_path / "weights.ckpt")
    with pytest.raises(GenolmInputError) as err:
        HyenaDNA.from_released(tmp_path)
    message = str(err.value)
    assert str(tmp_path / "weights.ckpt") in message
    assert "missing keys: backbone.layers.1.mlp.fc1.weight" in message
    assert "unexpected keys: backbone.layers.1.mlp.fc_1.weight" in message


def test_rejects_missing_config_and_unreadable_weights(tmp_path):
    (tmp_path / "weights.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(GenolmInputError, match="config.json"):
        HyenaDNA.from_released(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(small_config().to_released()))
    with pytest.raises(GenolmInputError, match="weights.ckpt.*cannot read"):
        HyenaDNA.from_released(tmp_path / "weights.ckpt")


def test_save_released_round_trip(tmp_path):
    torch.manual_seed(0)
    model = HyenaDNA(small_config(shift=0.05, hyena_order=3))
    model.save_released(tmp_path / "ckpt")
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["config.json", "weights.ckpt"]
    raw = torch.load(tmp_path / "ckpt" / "weights.ckpt", weights_only=True)["state_dict"]
    assert set(raw) == {"model." + k for k in model.state_dict()}
    loaded = HyenaDNA.from_released(tmp_path / "ckpt", shift=0.05)
    assert loaded.config == model.config
    ids = torch.randint(7, 12, (2, 50))
    assert torch.equal(eval_hidden(loaded, ids), eval_hidden(model, ids))
    assert loaded.lm_head.weight is loaded.backbone.embeddings.word_embeddings.weight


def test_positional_buffers_follow_the_checkpoint(tmp_path):
    torch.manual_seed(0)
    model = HyenaDNA(small_config(l_max=34))
    model.save_released(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["layer"]["l_max"] = 130
    (tmp_path / "config.json").write_text(json.dumps(config))
    ids = torch.randint(7, 12, (1, 30))
    loaded = HyenaDNA.from_released(tmp_path)
    assert loaded.config.l_max == 34
    assert torch.equal(eval_hidden(loaded, ids), eval_hidden(model, ids))
    longer = HyenaDNA.from_released(tmp_path, config_overrides={"l_max": 258})
    assert longer.backbone.layers[0].mixer.filter_fn.pos_emb.z.shape == (1, 258, 5)
    assert eval_hidden(longer, torch.randint(7, 12, (1, 200))).shape == (1, 200, 16)


def test_causal():
    torch.manual_seed(0)
    model = HyenaDNA(small_config()).eval()
    ids = torch.randint(7, 12, (2, 60))
    changed = ids.clone()
    t = 37
    changed[:, t] = torch.where(ids[:, t] == 7, 8, 7)
    before, after = eval_hidden(model, ids), eval_hidden(model, changed)
    # The FFT spreads float rounding over all positions, so "unchanged" means within rounding.
    assert (before[:, :t] - after[:, :t]).abs().max() < 1e-5
    assert (before[:, t] - after[:, t]).abs().max() > 1e-2
    assert (before[:, t + 1] - after[:, t + 1]).abs().max() > 1e-3


def test_too_long_input_is_refused():
    model = HyenaDNA(small_config(l_max=10))
    with pytest.raises(ValueError, match="l_max"):
        model.hidden_states(torch.zeros(1, 11, dtype=torch.long))


def test_bf16_autocast_and_backward():
    torch.manual_seed(0)
    model = HyenaDNA(small_config())
    ids = torch.randint(7, 12, (2, 40))
    reference = eval_hidden(model, ids)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = model.hidden_states(ids)
    assert torch.isfinite(mixed).all()
    assert rel_err(mixed.float(), reference) < 0.05

    model.train()
    logits = model(ids)
    loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
    loss.backward()
    filter_fn = model.backbone.layers[0].mixer.filter_fn
    assert filter_fn.implicit_filter[0].weight.grad.abs().sum() > 0
    assert filter_fn.implicit_filter[1].freq.grad.abs().sum() > 0
