"""`genolm train`: any tokenizer + model + objective or head from one spec, end to end on tiny window shards."""

from __future__ import annotations

import json
import shutil

import polars as pl
import pytest
import torch

from conftest import run_genolm
from genolm import models, tokenizers
from genolm.cli import main
from genolm.errors import GenolmInputError
from genolm.results import METRICS_SCHEMA, read_metrics
from genolm.heads import load_task_model
from genolm.heads.localization import site_token_index
from genolm.training.trainer import train, validate_spec
from zoo_util import zoo_test_setup  # noqa: F401 (zoo_test_setup: autouse fixture)

TRAINING = {"max_steps": 4, "batch_size": 8, "warmup_steps": 1, "val_every_n_steps": 2, "checkpoint_every_n_steps": 2,
            "lr": 1e-3}
BERT = {"name": "bert", "preset": "bert-tiny", "hidden_size": 16, "num_attention_heads": 2, "intermediate_size": 32,
        "max_position_embeddings": 64}


def context(experiment: str) -> dict:
    return {"study": "zoo", "task": "t", "experiment": experiment, "model": "m", "tokenizer": "t", "context_length": 64,
            "init": "random", "label_fraction": 1.0, "seed": 1}


def test_genolm_train_pretrains_then_fine_tunes(tiny_shards, tmp_path):
    pretrain_spec = {"tokenizer": {"name": "kmer", "k": 3}, "model": BERT, "objective": {"name": "kmer_mlm"},
                     "context_length": 64, "training": TRAINING}
    (tmp_path / "pretrain.yaml").write_text(json.dumps(pretrain_spec))  # JSON is YAML
    common = ["--shards", str(tiny_shards), "--seed", "1", "--results-dir", str(tmp_path / "results"), "--study", "zoo",
              "--task", "pretraining"]
    run_genolm("train", "--spec", f"@{tmp_path / 'pretrain.yaml'}", "--out", str(tmp_path / "mlm"), *common,
               "--experiment", "mlm")
    model_dir = tmp_path / "mlm" / "model"
    metrics = read_metrics(tmp_path / "mlm" / "metrics.parquet")
    assert list(metrics.columns) == list(METRICS_SCHEMA)
    val = dict(metrics.filter(pl.col("split") == "val").select("metric", "value").iter_rows())
    assert {"loss", "masked_accuracy", "perplexity"} <= set(val) and val["perplexity"] > 1
    assert metrics["model"].unique().to_list() == ["bert-tiny"] and metrics["tokenizer"].unique().to_list() == ["kmer"]
    assert isinstance(models.from_pretrained(model_dir), models.model_class("bert"))
    assert tokenizers.from_pretrained(model_dir).k == 3
    assert (tmp_path / "mlm" / "history.tsv").exists() and (tmp_path / "mlm" / "checkpoints" / "last.ckpt").exists()

    finetune_spec = {"tokenizer": {"pretrained": str(model_dir)}, "model": {"checkpoint": str(model_dir)},
                     "head": {"name": "classification", "pooling": "cls", "hidden_size": 32,
                              "label_names": ["Lung", "Lymphoid"]},
                     "init": "gradual", "unfreeze_every_n_steps": 2, "context_length": 64, "training": TRAINING}
    run_genolm("train", "--spec", json.dumps(finetune_spec), "--out", str(tmp_path / "cls"), *common,
               "--experiment", "cls")
    metrics = read_metrics(tmp_path / "cls" / "metrics.parquet")
    test = dict(metrics.filter(pl.col("split") == "test").select("metric", "value").iter_rows())
    assert {"accuracy", "balanced_accuracy", "recall_macro", "f1_macro", "mcc", "auroc_macro", "loss"} <= set(test)
    assert 0 <= test["balanced_accuracy"] <= 1
    assert metrics["init"].unique().to_list() == ["gradual"]
    task, tokenizer, head_spec = load_task_model(tmp_path / "cls" / "model")
    assert head_spec["label_names"] == ["Lung", "Lymphoid"]
    ids, mask = (torch.from_numpy(a) for a in tokenizer.encode_batch(["ACGT" * 16], max_length=64, padding_side="right"))
    with torch.no_grad():
        assert task(ids, mask).shape == (1, 2)
    # Gradual unfreezing, one more group every 2 steps: after 4 steps the top layer has moved, the embeddings not.
    before = models.from_pretrained(model_dir).state_dict()
    after = torch.load(tmp_path / "cls" / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]
    assert torch.equal(before["hf.bert.embeddings.word_embeddings.weight"],
                       after["task.backbone.hf.bert.embeddings.word_embeddings.weight"])
    key = "hf.bert.encoder.layer.1.output.dense.weight"
    assert not torch.equal(before[key], after[f"task.backbone.{key}"])


@pytest.mark.parametrize("spec", [
    # ENBED pretraining by span corruption on bytes
    {"tokenizer": {"name": "byte"}, "objective": {"name": "span_corruption", "mean_span_length": 5},
     "model": {"name": "enbed", "d_model": 16, "d_kv": 4, "d_ff": 32, "num_heads": 4, "num_encoder_layers": 2,
               "num_decoder_layers": 1, "local_radius": [4, 8]}, "context_length": 66},
    # which token holds the anchor mutation, with a Longformer over single bases
    {"tokenizer": {"name": "character"}, "head": {"name": "localization"}, "init": "random", "context_length": 66,
     "model": {"name": "longformer", "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
               "intermediate_size": 32, "attention_window": 8, "max_position_embeddings": 66}},
    # split-and-concatenate over a learnt 3-mer BPE vocabulary
    {"tokenizer": {"name": "kmer_bpe", "k": 3, "vocab_size": 40}, "head": {"name": "split_concat", "label_names": ["a", "b"]},
     "model": BERT, "context_length": 40},
])
def test_train_other_combinations(tiny_shards, tmp_path, spec):
    spec = validate_spec({**spec, "training": TRAINING})
    model_dir = train(spec, shards=tiny_shards, job_dir=tmp_path / "job", seed=1, plots=tmp_path,
                      context=context("x"))
    values = dict(read_metrics(tmp_path / "job" / "metrics.parquet").select(
        pl.concat_str("split", pl.lit("/"), "metric"), "value").iter_rows())
    assert "val/loss" in values and values["train/loss"] == values["train/loss"]  # not NaN
    assert models.from_pretrained(model_dir).name == spec["model"]["name"]
    if "head" in spec:
        assert "test/accuracy" in values and (model_dir / "head.json").exists()


def test_pretraining_without_a_validation_split(tiny_shards, tmp_path):
    shards = tmp_path / "train_only"
    shutil.copytree(tiny_shards, shards)
    manifest = json.loads((shards / "manifest.json").read_text())
    manifest["splits"] = {"train": manifest["splits"]["train"]}
    (shards / "manifest.json").write_text(json.dumps(manifest))
    spec = validate_spec({"tokenizer": {"name": "character"}, "objective": {"name": "next_token"},
                          "model": {"name": "hyenadna", "preset": "tiny-1k", "d_model": 16, "n_layer": 1, "d_inner": 32,
                                    "l_max": 66},
                          "context_length": 65, "training": TRAINING})
    train(spec, shards=shards, job_dir=tmp_path / "job", seed=1, plots=tmp_path, context=context("h"))
    metrics = read_metrics(tmp_path / "job" / "metrics.parquet")
    assert metrics["split"].to_list() == ["train"] and metrics["metric"].to_list() == ["loss"]


def test_kmer_logistic_regression_through_the_entry_point(tiny_shards, tmp_path):
    spec = validate_spec({"tokenizer": {"name": "character"}, "model": {"name": "kmer-logreg", "k": 3},
                          "head": {"name": "classification", "label_names": ["Lung", "Lymphoid"]}, "context_length": 64})
    model_dir = train(spec, shards=tiny_shards, job_dir=tmp_path / "lr", seed=1, plots=tmp_path,
                      context=context("lr"))
    metrics = read_metrics(tmp_path / "lr" / "metrics.parquet")
    assert {"val", "test"} == set(metrics["split"]) and "mcc" in set(metrics["metric"])
    assert models.from_pretrained(model_dir).config.k == 3


def test_site_token_index_follows_the_tokenizer():
    sequence = "ACGTACGTAC"
    assert site_token_index(tokenizers.build("character"), sequence, 4) == 4
    # [CLS] first, then the 3-mer that ends at base 4 (starts at base 2) is token 1 + 2.
    assert site_token_index(tokenizers.build("kmer", k=3), sequence, 4) == 3
    assert site_token_index(tokenizers.build("byte"), sequence, 0) == 0


def test_bad_specs_are_reported_with_their_key(tiny_shards, tmp_path, capsys):
    with pytest.raises(GenolmInputError, match="unknown key 'objectiv'"):
        validate_spec({"tokenizer": {"name": "kmer"}, "model": {"name": "bert"}, "objectiv": {}, "context_length": 8})
    with pytest.raises(GenolmInputError, match="valid under each of"):
        validate_spec({"tokenizer": {"name": "kmer"}, "model": {"name": "bert"}, "objective": {"name": "mlm"},
                       "head": {"name": "classification"}, "context_length": 8})
    spec = validate_spec({"tokenizer": {"name": "kmer", "k": 3}, "model": {"name": "bert", "hidden_sise": 8},
                          "objective": {"name": "mlm"}, "context_length": 64})
    with pytest.raises(GenolmInputError, match="key model: unknown bert config field"):
        train(spec, shards=tiny_shards, job_dir=tmp_path / "bad", seed=1, plots=tmp_path, context=context("b"))
    # The command reports bad input in one line and exits 2 (run in-process: the CLI path, without a new interpreter).
    bad = {**spec, "model": {"name": "bert"}, "objective": {"name": "next_token"}}
    capsys.readouterr()
    code = main(["train", "--spec", json.dumps(bad), "--shards", str(tiny_shards), "--seed", "1", "--out", str(tmp_path / "bad2"),
                 "--study", "s", "--task", "t", "--experiment", "e", "--results-dir", str(tmp_path / "r")])
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and message.startswith("genolm train: error: ")
    assert "'next_token' needs a model with causal or bilm language-model logits; 'bert' has masked" in message
