"""The benchmarks block's checks and specs: a task must be a prepared benchmark, a checkpoint backbone names its
architecture, a family without a pooling rule is refused; the spec of a cell holds the family's pooling, the
setting's learning rate and the fixed step budget; a baseline has one setting."""

from __future__ import annotations

import copy

import pytest
import yaml

from conftest import REPO
from genolm.config import study_block, validate_config
from genolm.errors import GenolmInputError
from genolm.studies.benchmarks import jobs, specs


@pytest.fixture()
def demo_config() -> dict:
    return yaml.safe_load((REPO / "config.yaml").read_text())


def test_a_task_missing_from_datasets_benchmarks_is_named_with_a_hint(demo_config):
    block = demo_config["studies"]["benchmarks"]["tasks"]
    block["demo_phage_vs_mitoo"] = block.pop("demo_phage_vs_mito")
    with pytest.raises(GenolmInputError, match=r"studies\.benchmarks\.tasks\.demo_phage_vs_mitoo.*demo_phage_vs_mito"):
        validate_config(demo_config)


def test_a_checkpoint_backbone_without_architecture_is_refused(demo_config):
    del demo_config["studies"]["benchmarks"]["backbones"]["HyenaDNA-tiny"]["architecture"]
    with pytest.raises(GenolmInputError, match=r"backbones\.HyenaDNA-tiny: a checkpoint backbone needs `architecture"):
        validate_config(demo_config)


def test_a_family_without_a_pooling_rule_is_refused(demo_config):
    demo_config["studies"]["benchmarks"]["backbones"]["CNN"] = {"tokenizer": {"name": "character"},
                                                              "model": {"name": "cnn", "preset": "deepsea"}}
    with pytest.raises(GenolmInputError, match=r"backbones\.CNN: no model family named 'cnn'"):
        validate_config(demo_config)


def test_cell_specs_hold_the_family_pooling_the_grid_lr_and_the_step_budget(demo_config):
    config = validate_config(copy.deepcopy(demo_config))
    study = copy.deepcopy(study_block(config, "benchmarks"))
    study["lr_grid"] = [1.0e-4, 3.0e-3]
    bert = specs.cell_spec(study, "demo_phage_vs_mito", "DNABERT-3", "lr0.003")
    assert bert["head"] == {"name": "classification", "pooling": "cls", "label_names": ["human_mito", "phage"]}
    assert bert["training"]["lr"] == 3.0e-3 and bert["training"]["max_steps"] == study["training"]["max_steps"]
    hyena = specs.cell_spec(study, "demo_phage_vs_mito", "HyenaDNA-tiny", "lr0.0001")
    assert hyena["head"]["pooling"] == "mean" and hyena["training"]["lr"] == 1.0e-4
    assert hyena["model"] == {"checkpoint": "data/demo/backbones/tiny-1k/seed1"} and hyena["init"] == "pretrained"
    assert hyena["context_length"] == 128 + 2
    with pytest.raises(ValueError, match="lr0.01"):
        specs.cell_spec(study, "demo_phage_vs_mito", "DNABERT-3", "lr0.01")
    cells = jobs.cells(config, study)
    assert {s for _, m, s, _ in cells if m == "kmer-LR"} == {"fixed"}
    assert {s for _, m, s, _ in cells if m == "ENBED"} == {"lr0.0001", "lr0.003"}
    planned = {job.name: job for job in jobs.training_jobs(config, study)}
    assert planned["runs/demo_chrM_intervals/HyenaDNA-tiny/lr0.003/seed2"].architecture["model"]["name"] == "hyenadna"
