"""Attention maps (genolm.inference.attention, `genolm attention-maps`): LongT5's block-local attention laid back on
the query x key grid keeps every query's whole attention (its row, plus its weight on the global tokens, sums to 1)
and nothing outside its radius; dense attention is Hugging Face's own."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import run_genolm
from genolm import models
from genolm.inference.attention import attention_maps
from genolm.tokenizers.byte import ByteTokenizer
from genolm.tokenizers.character import CharacterTokenizer

TINY_ENBED = {"d_model": 32, "d_kv": 8, "d_ff": 64, "num_heads": 4, "num_encoder_layers": 2, "num_decoder_layers": 1,
              "local_radius": [8, 8], "global_block_size": 16}
SEQUENCE = "ACGTTGCAGGCATTAC" * 5  # 80 bases


def test_block_local_attention_on_the_grid_keeps_every_query_whole_and_within_its_radius():
    tokenizer = ByteTokenizer()
    torch.manual_seed(0)
    model = models.build("enbed", TINY_ENBED, tokenizer=tokenizer).eval()
    result = attention_maps(model, tokenizer, SEQUENCE)
    maps, global_weight = result["maps"], result["global_weight"]
    length = len(tokenizer.encode(SEQUENCE))
    assert maps.shape == (4, length, length) and len(result["tokens"]) == length
    rows = np.nansum(maps, axis=2) + global_weight.sum(axis=2)
    assert np.allclose(rows, 1.0, atol=1e-5)
    query, key = np.indices((length, length))
    outside = np.abs(query - key) > 8
    assert np.all(np.nan_to_num(maps[:, outside]) == 0)  # LongT5 attends within local_radius only


def test_dense_attention_is_hugging_faces():
    tokenizer = CharacterTokenizer()
    torch.manual_seed(0)
    model = models.build("bert", {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
                                  "intermediate_size": 64, "max_position_embeddings": 128}, tokenizer=tokenizer).eval()
    result = attention_maps(model, tokenizer, SEQUENCE, layer=0)
    assert model.hf.config._attn_implementation == "sdpa"  # the model's fused kernel is back
    model.hf.set_attn_implementation("eager")  # SDPA returns no weights
    ids = torch.from_numpy(np.asarray([tokenizer.encode(SEQUENCE)]))
    with torch.no_grad():
        expected = model.hf.bert(input_ids=ids, attention_mask=torch.ones_like(ids), output_attentions=True).attentions[0]
    assert np.allclose(result["maps"], expected[0].numpy(), atol=1e-6)
    assert "global_weight" not in result
    with pytest.raises(ValueError, match="layer 5 out of range: the encoder has 2 layers"):
        attention_maps(model, tokenizer, SEQUENCE, layer=5)


def test_the_command_writes_the_figure_and_the_maps(tmp_path):
    tokenizer = ByteTokenizer()
    model = models.build("enbed", TINY_ENBED, tokenizer=tokenizer)
    model.save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    fasta = tmp_path / "sequences.fa"
    fasta.write_text(f">first\n{SEQUENCE}\n>second\nACGT\n")
    run_genolm("attention-maps", "--model", str(tmp_path / "model"), "--sequences", str(fasta), "--length", "40",
               "--plot", str(tmp_path / "heads.png"), "--out", str(tmp_path / "maps.npz"))
    saved = np.load(tmp_path / "maps.npz")
    assert saved["maps"].shape[0] == 4 and saved["maps"].shape[1] == len(tokenizer.encode(SEQUENCE[:40]))
    assert (tmp_path / "heads.png").stat().st_size > 1000
