"""The config schema: defaults filled, misspelt keys and wrong types rejected with the key named."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import yaml

from conftest import REPO
from genolm.config import load_config, training_settings, validate_config
from genolm.errors import GenolmInputError


@pytest.fixture()
def demo_config() -> dict:
    return yaml.safe_load((REPO / "config.yaml").read_text())


def test_demo_config_is_valid_and_defaults_are_filled(demo_config):
    config = validate_config(copy.deepcopy(demo_config))
    study = config["studies"]["cancer_type"]
    assert study["mutation_format"] == "depmap"
    assert study["experiments"]["32K-frozen"]["training"]["gradient_clip"] == 1.0  # default from $defs.training
    assert study["backbones"]["tiny-1k"]["checkpoint"] == "data/demo/backbones/tiny-1k/seed{seed}"  # the committed backbone
    assert study["backbones"]["tiny-1k"]["overrides"] == {}  # default from the study's own schema
    assert config["tracking"]["mlflow_uri"] is None
    assert config["compute"]["training_gpus"] == 0


def test_misspelt_key_names_the_key(demo_config):
    demo_config["studies"]["cancer_type"]["lineage"] = ["Lung", "Lymphoid"]
    with pytest.raises(GenolmInputError, match=r"unknown key 'lineage' under studies\.cancer_type"):
        validate_config(demo_config)


def test_wrong_type_names_the_key(demo_config):
    demo_config["studies"]["cancer_type"]["experiments"]["1K-main"]["context_length"] = "1024"
    with pytest.raises(GenolmInputError, match=r"studies\.cancer_type\.experiments\.1K-main\.context_length"):
        validate_config(demo_config)


def test_bad_enum_names_the_key(demo_config):
    demo_config["studies"]["cancer_type"]["experiments"]["1K-main"]["init"] = "warm"
    with pytest.raises(GenolmInputError, match=r"experiments\.1K-main\.init"):
        validate_config(demo_config)


def test_experiment_must_name_a_backbone(demo_config):
    demo_config["studies"]["cancer_type"]["experiments"]["1K-main"]["backbone"] = "tiny-2k"
    with pytest.raises(GenolmInputError, match="no backbone named 'tiny-2k'"):
        validate_config(demo_config)


def test_umap_backbones_must_be_backbones_and_not_shadow_an_experiment(demo_config):
    demo_config["studies"]["cancer_type"]["umap"]["backbones"] = ["tiny-2k"]
    with pytest.raises(GenolmInputError, match=r"umap\.backbones: no backbone named 'tiny-2k'"):
        validate_config(copy.deepcopy(demo_config))
    demo_config["studies"]["cancer_type"]["umap"]["backbones"] = ["tiny-1k"]
    experiments = demo_config["studies"]["cancer_type"]["experiments"]
    experiments["pretrained-tiny-1k"] = copy.deepcopy(experiments["1K-main"])
    with pytest.raises(GenolmInputError, match=r"experiments\.pretrained-tiny-1k: the name of umap\.backbones"):
        validate_config(demo_config)


def test_training_settings_validate_like_the_config():
    assert training_settings({"lr": 1e-3})["weight_decay"] == 0.1
    with pytest.raises(GenolmInputError, match="unknown key 'learning_rate'"):
        training_settings({"learning_rate": 1e-3})


def test_bad_yaml_names_the_file(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("sources: [unclosed\n")
    with pytest.raises(GenolmInputError, match="config.yaml: not valid YAML"):
        load_config(path)


def test_snakemake_refuses_a_bad_config_before_any_job(tmp_path):
    """A dry run with a misspelt key fails at parse time, naming the key, and creates no output."""
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--directory", str(tmp_path), "--snakefile",
         str(REPO / "Snakefile"), "--configfile", str(REPO / "config.yaml"), "--config", "seeed=3"],
        capture_output=True, text=True, cwd=REPO, timeout=300,
    )
    assert result.returncode != 0
    assert "unknown key 'seeed'" in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


def test_a_study_block_is_checked_by_its_own_schema(demo_config):
    config = copy.deepcopy(demo_config)
    config["studies"]["cancer_type"]["experiments"]["1K-main"]["inti"] = "random"
    with pytest.raises(GenolmInputError, match="inti"):
        validate_config(config)


def test_an_absent_study_is_off(demo_config):
    from genolm.config import study_block

    config = copy.deepcopy(demo_config)
    del config["studies"]["cancer_type"]
    validate_config(config)
    assert "cancer_type" not in config["studies"]
    assert study_block(config, "cancer_type")["enabled"] is False


def test_benchmark_class_references_name_configured_sources(demo_config):
    task = demo_config["datasets"]["benchmarks"]["demo_chrM_intervals"]
    task["references"] = {"Homo_sapiens.GRCh38.dna.toplevel.fa.gz": {"source": "grch38", "file": "hg38.fa.gz"}}
    with pytest.raises(GenolmInputError, match="give reference_source or references, not both"):
        validate_config(copy.deepcopy(demo_config))
    task["reference_source"] = None
    config = validate_config(copy.deepcopy(demo_config))
    mapped = config["datasets"]["benchmarks"]["demo_chrM_intervals"]["references"]
    assert mapped["Homo_sapiens.GRCh38.dna.toplevel.fa.gz"]["kind"] == "genome"  # the schema's default
    task["references"]["worm.fa.gz"] = {"source": "ce11", "file": "worm.fa.gz"}
    with pytest.raises(GenolmInputError, match=r"references.worm.fa.gz: no source named 'ce11'"):
        validate_config(copy.deepcopy(demo_config))


@pytest.mark.parametrize("ranking, message", [
    ({"experiments": ["ENBDE"]}, r"noise_ranking\.experiments: no mutation_generation experiment named 'ENBDE'"),
    ({"experiments": ["copy-parent"]}, r"noise_ranking\.experiments: 'copy-parent' is a baseline with one candidate"),
    ({"experiments": ["ENBED"], "classifier": "kmer-LR"}, r"noise_ranking\.classifier: 'kmer-LR' is a baseline"),
])
def test_noise_ranking_names_a_generating_arm_and_a_fine_tuned_classifier(demo_config, ranking, message):
    demo_config["studies"]["enbed"]["mutation_generation"]["noise_ranking"] = ranking
    with pytest.raises(GenolmInputError, match=message):
        validate_config(demo_config)


def test_attention_maps_name_a_pretrained_architecture(demo_config):
    demo_config["studies"]["enbed"]["attention_maps"] = {"architectures": ["enbed-decoder"]}
    demo_config["studies"]["enbed"]["architectures"]["enbed-decoder"]["pretrain"] = False
    with pytest.raises(GenolmInputError, match=r"attention_maps\.architectures: 'enbed-decoder' has pretrain: false"):
        validate_config(copy.deepcopy(demo_config))
    demo_config["studies"]["enbed"]["attention_maps"] = {"architectures": ["enbdd"]}
    with pytest.raises(GenolmInputError, match=r"attention_maps\.architectures: no architecture named 'enbdd'"):
        validate_config(demo_config)
