"""ENBED on LongT5: parameter counts of the 2:1, 1:1 and decoder-only configurations, per-layer window radius,
span corruption and next-token overfitting, beam-search generation, round trip."""

from __future__ import annotations

import pytest
import torch
from transformers import LongT5ForConditionalGeneration

from genolm import models, tokenizers
from genolm.models.enbed import Enbed, EnbedDecoder, split_radii
from genolm.models.heads import Seq2SeqHead
from genolm.objectives import build as build_objective
from genolm.objectives.base import encode
from zoo_util import meta_parameters, zoo_test_setup, overfit, random_dna  # noqa: F401 (zoo_test_setup: autouse fixture)


def t5_parameters(vocab: int, d: int, inner: int, d_ff: int, heads: int, *, encoder_layers: int, decoder_layers: int,
                  radius_groups: int = 1, buckets: int = 32, cross_attention: bool = True) -> int:
    """Shared (tied) embeddings; gated-GELU feed-forward (three matrices); RMS norms with a scale only; relative
    position bias tables where a bias is computed (Raffel et al. 2020, Guo et al. 2022)."""
    attention = 4 * d * inner
    feed_forward = 3 * d * d_ff + d
    count = vocab * d
    if encoder_layers:
        # transient-global attention: + the norm of the global aggregates; bias + global bias per radius group
        count += encoder_layers * (attention + d + d + feed_forward) + radius_groups * 2 * buckets * heads + d
    if decoder_layers:
        per_layer = attention + d + feed_forward + ((attention + d) if cross_attention else 0)
        count += decoder_layers * per_layer + buckets * heads + d
    return count


def test_enbed_parameter_counts():
    base = t5_parameters(384, 768, 768, 2048, 12, encoder_layers=12, decoder_layers=6, radius_groups=2)
    assert base == 141_897_600
    assert meta_parameters(lambda: models.build("enbed", {"preset": "enbed-base"})) == base
    one_to_one = t5_parameters(384, 768, 768, 2048, 12, encoder_layers=9, decoder_layers=9, radius_groups=2)
    assert meta_parameters(lambda: models.build("enbed", {"preset": "enbed-base-1to1"})) == one_to_one
    decoder_only = t5_parameters(384, 768, 768, 2048, 12, encoder_layers=0, decoder_layers=18, cross_attention=False)
    assert decoder_only == 127_725_696
    assert meta_parameters(lambda: models.build("enbed-decoder", {"preset": "enbed-base-decoder"})) == decoder_only


def test_presets_keep_the_ratios_and_radii():
    for name, ratio in (("enbed-base", 2), ("enbed-small", 2), ("enbed-base-1to1", 1), ("enbed-small-1to1", 1)):
        config = Enbed.make_config({"preset": name})
        assert config.num_encoder_layers == ratio * config.num_decoder_layers
        narrow = min(3, config.num_encoder_layers)  # the paper: radius 64 in the first three encoder layers
        assert config.local_radius == [64] * narrow + [128] * (config.num_encoder_layers - narrow)
    with pytest.raises(ValueError, match="local_radius has 2 values for 3 encoder layers"):
        Enbed.make_config({"num_encoder_layers": 3, "local_radius": [64, 128]})
    assert split_radii(5) == [64, 64, 64, 128, 128]


TINY = {"d_model": 32, "d_kv": 8, "d_ff": 64, "num_heads": 4, "num_encoder_layers": 2, "num_decoder_layers": 1,
        "local_radius": [4, 8], "global_block_size": 4, "dropout_rate": 0.0}


def test_each_encoder_layer_uses_its_own_radius():
    tokenizer = tokenizers.build("byte")
    model = models.build("enbed", TINY, tokenizer=tokenizer).eval()
    blocks = model.hf.encoder.block
    assert [b.layer[0].TransientGlobalSelfAttention.block_len for b in blocks] == [5, 9]
    ids, mask = encode(tokenizer, random_dna(2, 40, seed=2), 41)
    mask[1, 30:] = 0
    with torch.no_grad():
        encoded = model.hf.encoder(input_ids=ids, attention_mask=mask, output_hidden_states=True)
        # Layer 2 alone, as Hugging Face LongT5 with a radius of 8 and the same weights, from layer 1's output.
        reference = models.build("enbed", {**TINY, "num_encoder_layers": 1, "local_radius": [8]}, tokenizer=tokenizer).eval()
        state = {k.replace("block.1.", "block.0."): v for k, v in model.hf.encoder.state_dict().items()
                 if k.startswith(("block.1.", "final_layer_norm", "embed_tokens"))}
        reference.hf.encoder.load_state_dict(state)
        assert reference.hf.encoder.block[0].layer[0].TransientGlobalSelfAttention.block_len == 9
        expected = reference.hf.encoder(inputs_embeds=encoded.hidden_states[1], attention_mask=mask).last_hidden_state
    assert torch.allclose(encoded.last_hidden_state, expected, atol=1e-6)


def test_uniform_radius_is_plain_longt5():
    tokenizer = tokenizers.build("byte")
    model = models.build("enbed", {**TINY, "local_radius": [8, 8]}, tokenizer=tokenizer).eval()
    plain = LongT5ForConditionalGeneration(model.config.to_hf()).eval()
    plain.load_state_dict(model.hf.state_dict())
    ids, mask = encode(tokenizer, random_dna(2, 30, seed=4), 31)
    labels = ids[:, :7].contiguous()
    with torch.no_grad():
        assert torch.equal(model(ids, mask, labels=labels).logits, plain(input_ids=ids, attention_mask=mask, labels=labels).logits)


def test_enbed_overfits_span_corruption_and_generates_by_beam_search():
    tokenizer = tokenizers.build("byte")
    torch.manual_seed(0)
    model = models.build("enbed", TINY, tokenizer=tokenizer)
    objective = build_objective("span_corruption", tokenizer, model, mean_span_length=3)
    batch = objective.collate(random_dna(4, 40, seed=5), max_length=48, generator=torch.Generator().manual_seed(0))
    assert set(batch["input_ids"][0].tolist()) & set(tokenizer.sentinel_ids)
    first, last = overfit(model.parameters(), lambda: objective(model, batch).loss, steps=150, lr=1e-2)
    assert last < 0.1 * first
    model.eval()
    head = Seq2SeqHead(num_beams=3, max_new_tokens=batch["labels"].shape[1] + 2)
    with torch.no_grad():
        assert torch.equal(head.loss_from(model, batch["input_ids"], batch["attention_mask"], batch["labels"]),
                           objective(model, batch).loss)
    generated = head.generate(model, batch["input_ids"], batch["attention_mask"])
    for row in range(4):
        target = [t for t in batch["labels"][row].tolist() if t != -100]
        assert generated[row, : len(target)].tolist() == target


def test_decoder_only_variant_overfits_next_token():
    tokenizer = tokenizers.build("byte")
    torch.manual_seed(0)
    model = models.build("enbed-decoder", {"d_model": 32, "d_kv": 8, "d_ff": 64, "num_heads": 4, "num_layers": 2,
                                           "dropout_rate": 0.0}, tokenizer=tokenizer)
    assert all(len(block.layer) == 2 for block in model.stack.block)  # self-attention + feed-forward only
    objective = build_objective("next_token", tokenizer, model)
    batch = objective.collate(random_dna(4, 30, seed=6), max_length=31)
    first, last = overfit(model.parameters(), lambda: objective(model, batch).loss, steps=80, lr=1e-2)
    assert last < 0.2 * first


@pytest.mark.parametrize("name,config", [
    ("enbed", TINY),
    ("enbed-decoder", {"d_model": 32, "d_kv": 8, "d_ff": 64, "num_heads": 4, "num_layers": 2}),
])
def test_save_and_load_round_trip(tmp_path, name, config):
    tokenizer = tokenizers.build("byte")
    model = models.build(name, config, tokenizer=tokenizer).eval()
    model.save_pretrained(tmp_path / name)
    loaded = models.from_pretrained(tmp_path / name)
    assert isinstance(loaded, (Enbed, EnbedDecoder)) and loaded.config == model.config
    ids, mask = encode(tokenizer, random_dna(2, 30, seed=7), 31)
    extra = {"labels": ids[:, :5]} if name == "enbed" else {}
    with torch.no_grad():
        assert torch.equal(model(ids, mask, **extra).logits, loaded(ids, mask, **extra).logits)
