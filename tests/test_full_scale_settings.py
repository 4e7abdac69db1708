"""Settings the full-scale configuration needs to follow its papers (issue #28, deliverable 4): virBERT's batch
size per fragment length (thesis Appendix A.4: 256 at 150 nt, 64 at 1,000 nt) and the chromatin task's context
length per experiment (study 2 Table 5.4: the untrained network at 256, 512 and 1,024 tokens)."""

from __future__ import annotations

import copy

import pytest
import torch
import yaml

from conftest import REPO
from genolm import tokenizers
from genolm.config import validate_config
from genolm.errors import GenolmInputError
from genolm.studies.small_transformers import jobs as st_jobs
from genolm.studies.small_transformers import specs as st_specs
from genolm.studies.virbert import specs as vb_specs
from genolm.training.trainer import build_backbone


@pytest.fixture(scope="module")
def e2e_config() -> dict:
    """The end-to-end test configuration as written (validated by each test after its change)."""
    return yaml.safe_load((REPO / "tests" / "e2e" / "config.yaml").read_text())


def _virbert_study() -> dict:
    variant = {"k": 6, "stride": 1, "preset": "bert-tiny", "overrides": {}, "objective": {"name": "kmer_mlm", "k": 6},
               "max_length": 510, "max_tokens": 512, "training": {}, "checkpoint": None}
    return {"variants": {"virbert": variant}, "transfer": {"checkpoint": None, "variant": "virbert"},
            "lengths": [150, 1000], "label_fractions": [0.1],
            "arms": {"pretrained": {"backbone": "virbert", "init": "pretrained",
                                    "training": {"batch_size": 64, "accumulate_grad_batches": 4, "lr": 1.6e-5},
                                    "training_by_length": {"1000": {"batch_size": 64, "accumulate_grad_batches": 1}}}}}


def test_virbert_training_by_length_replaces_the_arms_settings_at_that_length_only():
    study = _virbert_study()
    short = vb_specs.experiment_spec(study, "pretrained", 150, 0.1, "/m")["training"]
    long = vb_specs.experiment_spec(study, "pretrained", 1000, 0.1, "/m")["training"]
    assert (short["batch_size"] * short["accumulate_grad_batches"], short["lr"]) == (256, 1.6e-5)
    assert (long["batch_size"] * long["accumulate_grad_batches"], long["lr"]) == (64, 1.6e-5)
    assert study["arms"]["pretrained"]["training"]["accumulate_grad_batches"] == 4  # the arm itself is untouched


def test_virbert_training_by_length_is_checked_against_lengths_and_training_keys(e2e_config):
    config = copy.deepcopy(e2e_config)
    arm = next(iter(name for name, arm in config["studies"]["virbert"]["arms"].items() if "backbone" in arm))
    lengths = config["studies"]["virbert"]["lengths"]
    good = copy.deepcopy(config)
    good["studies"]["virbert"]["arms"][arm]["training_by_length"] = {str(lengths[-1]): {"batch_size": 3}}
    validated = validate_config(good)
    spec = vb_specs.experiment_spec(validated["studies"]["virbert"], arm, lengths[-1], 0.5, "/m")
    assert spec["training"]["batch_size"] == 3
    unknown_length = copy.deepcopy(config)
    unknown_length["studies"]["virbert"]["arms"][arm]["training_by_length"] = {"77": {"batch_size": 3}}
    with pytest.raises(GenolmInputError, match=rf"arms\.{arm}\.training_by_length: length 77 is not one the arm trains at"):
        validate_config(unknown_length)
    unknown_key = copy.deepcopy(config)
    unknown_key["studies"]["virbert"]["arms"][arm]["training_by_length"] = {str(lengths[-1]): {"batchsize": 3}}
    with pytest.raises(GenolmInputError, match=r"unknown training key 'batchsize' \(did you mean 'batch_size'"):
        validate_config(unknown_key)


def _chromatin_study() -> dict:
    pretraining = {"tokenizer": {"name": "kmer_bpe", "k": 9, "vocab_size": 300},
                   "model": {"name": "longformer", "preset": "longformer-small"}, "objective": {"name": "mlm"},
                   "context_length": 256, "training": {}}
    experiments = {"untrained": {"init_from": "hg38", "init": "random"},
                   "untrained-1024": {"init_from": "hg38", "init": "random", "context_length": 1024},
                   "hg38": {"init_from": "hg38", "init": "pretrained"}}
    return {"enabled": True, "replicate": {"split": True, "pretraining": True}, "pretraining": {"hg38": pretraining},
            "species": {"enabled": False, "experiments": {}},
            "tss": {"enabled": False, "organisms": {}, "experiments": {}},
            "chromatin": {"enabled": True, "source": "deepsea", "context_length": 256, "pos_weight": 8,
                          "label_columns": None, "experiments": experiments}}


def test_a_chromatin_experiment_longer_than_its_pretraining_builds_that_architecture_at_its_length():
    study = _chromatin_study()
    labels, groups = ["DNase:0", "TF:1"], {"DNase": ["DNase:0"], "TF": ["TF:1"]}
    base = st_specs.chromatin_spec(study, "untrained", "/pre/model", labels, groups)
    assert base["context_length"] == 256 and base["model"] == {"checkpoint": "/pre/model"}
    long = st_specs.chromatin_spec(study, "untrained-1024", "/pre/model", labels, groups)
    assert long["context_length"] == 1024 and long["init"] == "random"
    assert long["model"] == {"name": "longformer", "preset": "longformer-small", "max_position_embeddings": 1024}
    assert long["tokenizer"] == {"pretrained": "/pre/model"}  # the pretraining job's tokenizer all the same
    planned = {job.name: job for job in st_jobs.training_jobs({"seeds": [1], "seed": 1}, study)}
    planned_spec = planned["chromatin/runs/untrained-1024/seed1"].spec  # what plan-compute costs
    assert planned_spec["model"]["max_position_embeddings"] == 1024 and planned_spec["context_length"] == 1024
    assert planned_spec["tokenizer"] == study["pretraining"]["hg38"]["tokenizer"]
    # What the trainer builds from that spec reads 1,024 tokens.
    backbone = build_backbone(long["model"], "random", tokenizers.build("character"), seed=1)
    output = backbone(torch.full((1, 1024), 5), attention_mask=torch.ones(1, 1024, dtype=torch.long), with_logits=False)
    assert output.hidden.shape[:2] == (1, 1024)


def test_chromatin_context_length_is_refused_where_it_cannot_work(e2e_config):
    config = copy.deepcopy(e2e_config)
    study = config["studies"]["small_transformers"]
    chromatin = study["chromatin"]["experiments"]
    pretrained = next(name for name, e in chromatin.items() if e.get("init") == "pretrained")
    limit = study["pretraining"][chromatin[pretrained]["init_from"]].get("context_length", 256)
    too_long = copy.deepcopy(config)
    too_long["studies"]["small_transformers"]["chromatin"]["experiments"][pretrained]["context_length"] = limit * 2
    with pytest.raises(GenolmInputError, match=rf"chromatin\.experiments\.{pretrained}\.context_length: {limit * 2} exceeds"):
        validate_config(too_long)
    longer_random = copy.deepcopy(config)
    longer_random["studies"]["small_transformers"]["chromatin"]["experiments"][pretrained].update(
        init="random", context_length=limit * 2)
    validate_config(longer_random)
    species = copy.deepcopy(config)
    name = next(iter(species["studies"]["small_transformers"]["species"]["experiments"]))
    species["studies"]["small_transformers"]["species"]["experiments"][name]["context_length"] = 64
    with pytest.raises(GenolmInputError, match=r"only chromatin experiments have their own context length"):
        validate_config(species)
