"""Names a configuration can misspell are checked when it is validated, without importing a model (issue #28 item
1, issue #25 item 6): genolm.registry_names is the registries' names as plain data, equal to the registries; a
misspelt tokenizer, model, preset or objective, or an enbed benchmark named like a built-in task, fails validation
with one line naming the key and the close matches."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest

from conftest import REPO
from genolm import registry_names
from genolm.config import load_config, validate_config
from genolm.errors import GenolmInputError


def test_the_name_table_is_the_registries():
    from genolm.models.registry import MODELS, model_class
    from genolm.objectives import OBJECTIVES
    from genolm.tokenizers.registry import TOKENIZERS

    assert sorted(registry_names.TOKENIZERS) == sorted(TOKENIZERS)
    assert sorted(registry_names.OBJECTIVES) == sorted(OBJECTIVES)
    from genolm.heads import HEADS

    assert sorted(registry_names.HEADS) == sorted(HEADS)
    assert {name: sorted(presets) for name, presets in registry_names.MODEL_PRESETS.items()} == {
        name: sorted(model_class(name).presets) for name in MODELS}


def test_validating_a_config_imports_no_model_library():
    code = ("import sys; from genolm.config import load_config, validate_config; "
            "[validate_config(load_config(p)) for p in ('config.yaml', 'config/full_scale.yaml')]; "
            "print(sorted(m for m in ('torch', 'transformers', 'lightning') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                            env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"


@pytest.fixture(scope="module")
def demo_config() -> dict:
    return load_config(REPO / "config.yaml")


@pytest.mark.parametrize("part, key, typo, meant", [
    ("tokenizer", "name", "kmer-bpe", "kmer_bpe"),
    ("objective", "name", "mlmm", "mlm"),
    ("model", "name", "longformerr", "longformer"),
    ("model", "preset", "longformer-smal", "longformer-small"),
])
def test_a_misspelt_registry_name_fails_validation_with_close_matches(demo_config, part, key, typo, meant):
    config = copy.deepcopy(demo_config)
    job = config["studies"]["small_transformers"]["pretraining"]["mito-longformer-9mer"]
    job[part] = {**job[part], key: typo}
    with pytest.raises(GenolmInputError, match=rf"key studies\.small_transformers\.pretraining\.mito-longformer-9mer\."
                                               rf"{part}\.{key}: no .*named '{typo}' \(did you mean '{meant}'.*valid: "):
        validate_config(config)


def test_an_enbed_benchmark_named_like_a_built_in_task_fails_validation(demo_config):
    config = copy.deepcopy(demo_config)
    benchmarks = config["datasets"]["benchmarks"]
    name = next(iter(config["studies"]["enbed"]["benchmarks"]))
    benchmarks["noise_identification"] = benchmarks.pop(name)
    config["studies"]["enbed"]["benchmarks"]["noise_identification"] = config["studies"]["enbed"]["benchmarks"].pop(name)
    with pytest.raises(GenolmInputError, match=r"key studies\.enbed\.benchmarks\.noise_identification: a benchmark may "
                                               r"not be named like the built-in task 'noise_identification'"):
        validate_config(config)


def test_an_enbed_benchmark_missing_from_the_datasets_names_the_close_ones(demo_config):
    config = copy.deepcopy(demo_config)
    name = next(iter(config["studies"]["enbed"]["benchmarks"]))
    config["studies"]["enbed"]["benchmarks"][name + "x"] = config["studies"]["enbed"]["benchmarks"].pop(name)
    with pytest.raises(GenolmInputError, match=rf"key studies\.enbed\.benchmarks\.{name}x: under datasets\.benchmarks, "
                                               rf"no benchmark named '{name}x' \(did you mean '{name}'"):
        validate_config(config)
