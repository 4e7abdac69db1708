"""genolm.compute and `genolm plan-compute`: parameters from the meta device, FLOPs against torch's own counter,
the plan's verdicts and the scheduler resources a spec gives."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from genolm import cli
from genolm.compute import (RESOURCE_KEYS, TrainingJob, build_on_meta, fft_flops, job_resources, plan_job, training_flops,
                            vocabulary)
from genolm.config import load_schema, validate_config
from genolm.models import registry

REPO = Path(__file__).resolve().parents[1]
E2E_CONFIG = REPO / "tests" / "e2e" / "config.yaml"


def compute_block(**overrides) -> dict:
    """The `compute` block with the schema's defaults, as a validated config holds it."""
    schema = load_schema()
    return validate_config({"training_gpus": 1, "throughput_table": None, **overrides},
                           schema={"$defs": schema["$defs"], **schema["properties"]["compute"]}, source="compute")


PRESETS = [
    ({"name": "bert", "preset": "bert-tiny"}, {"name": "kmer", "k": 3}),
    ({"name": "hyenadna", "preset": "tiny-1k"}, {"name": "character"}),
    ({"name": "longformer", "preset": "longformer-small"}, {"name": "character"}),
    ({"name": "albert", "preset": "albert-small"}, {"name": "character"}),
    ({"name": "enbed", "preset": "enbed-small"}, {"name": "byte"}),
]


@pytest.mark.parametrize(("model", "tokenizer"), PRESETS, ids=[m["preset"] for m, _ in PRESETS])
def test_meta_parameter_count_equals_the_real_model(model, tokenizer):
    meta = build_on_meta(model, tokenizer)
    real = registry.build(model["name"], {"preset": model["preset"]}, vocabulary(tokenizer))
    assert all(p.is_meta for p in meta.parameters())
    assert sum(p.numel() for p in meta.parameters()) == sum(p.numel() for p in real.parameters())


def counted_training_flops(model_spec: dict, tokenizer_spec: dict, context: int, batch: int) -> int:
    """torch's FlopCounterMode over one forward and backward pass of the real model (matrix products only)."""
    tokenizer = vocabulary(tokenizer_spec)
    model = registry.build(model_spec["name"], {k: v for k, v in model_spec.items() if k != "name"}, tokenizer)
    ids = torch.randint(5, tokenizer.vocab_size, (batch, context))
    counter = FlopCounterMode(display=False)
    with counter:
        model(ids, torch.ones_like(ids)).logits.float().sum().backward()
    return counter.get_total_flops()


# 10 %: the formula charges every dense weight once per token and attention over the full span; the counter also
# sees the few products the formula leaves out (ALBERT's embedding projection, Longformer's global tokens).
FLOP_CASES = [
    ({"name": "bert", "preset": "bert-tiny"}, {"name": "character"}, 128),
    ({"name": "albert", "preset": "albert-small"}, {"name": "character"}, 128),
    ({"name": "longformer", "preset": "longformer-small"}, {"name": "character"}, 128),
    ({"name": "enbed-decoder", "d_model": 64, "d_kv": 16, "d_ff": 128, "num_heads": 4, "num_layers": 2},
     {"name": "byte"}, 96),
]


@pytest.mark.parametrize(("model", "tokenizer", "context"), FLOP_CASES, ids=[c[0]["name"] for c in FLOP_CASES])
def test_flops_formula_matches_torch_flop_counter(model, tokenizer, context):
    counted = counted_training_flops(model, tokenizer, context, batch=2)
    estimated = training_flops(build_on_meta(model, tokenizer), context, sequences=2)
    assert estimated == pytest.approx(counted, rel=0.10)


def test_hyenadna_flops_are_the_counted_products_plus_the_fft_convolution():
    model, tokenizer, context = {"name": "hyenadna", "preset": "tiny-1k"}, {"name": "character"}, 1024
    counted = counted_training_flops(model, tokenizer, context, batch=2)  # FFTs are not matrix products
    meta = build_on_meta(model, tokenizer)
    fft = 3 * meta.config.n_layer * fft_flops(meta.config.d_model, context) * 2
    assert fft > 0.05 * counted  # the FFT term matters at this size
    assert training_flops(meta, context, sequences=2) - fft == pytest.approx(counted, rel=0.10)


def pretraining_spec(**training) -> dict:
    return {"tokenizer": {"name": "character"}, "model": {"name": "hyenadna", "preset": "small-32k"},
            "objective": {"name": "next_token"}, "context_length": 32770,
            "training": {"max_steps": 100000, "batch_size": 4, **training}}


def test_resources_follow_the_spec_devices_and_nodes():
    compute = compute_block(training_cpus=6, training_gpu_model="a100", partitions={"gpu": "accel"})
    resources = job_resources(pretraining_spec(devices=4, num_nodes=2), compute)
    # 4 GPUs on each of 2 nodes, one task per GPU: 8 processes, 4 per node, as Lightning expects.
    assert resources["gres"] == "gpu:a100:4" and resources["nodes"] == 2 and resources["tasks_per_gpu"] == 1
    assert resources["cpus_per_task"] == 6 and resources["mem_mb"] == 4 * compute["training_mem_mb"]
    assert resources["resource_class"] == "gpu" and resources["slurm_partition"] == "accel"
    assert "gpu" not in resources  # --gpus counts a job's GPUs, not a node's: one request only
    assert set(resources) == set(RESOURCE_KEYS)


def test_a_long_job_is_capped_at_one_allocation_and_asks_for_more_allocations():
    compute = compute_block(allocation_hours=0.25, max_allocations=1000)
    resources = job_resources(pretraining_spec(), compute)
    plan = plan_job(TrainingJob("s", "pretrain", pretraining_spec()), compute)
    assert plan.duration_min > 15
    assert resources["runtime"] == 15 and resources["allocations"] == plan.allocations > 1


def test_cpu_baselines_and_cpu_configs_get_the_cpu_class():
    baseline = {"tokenizer": {"name": "byte"}, "model": {"name": "kmer-logreg"}, "head": {"name": "classification"},
                "context_length": 100}
    resources = job_resources(baseline, compute_block())
    assert resources["resource_class"] == "cpu" and resources["slurm_partition"] == "cpu"
    assert resources["gres"] == "" and resources["tasks"] == 1  # an empty gres asks for no GPU
    demo = job_resources(pretraining_spec(devices=2), compute_block(training_gpus=0, training_runtime_min=33))
    assert demo["resource_class"] == "cpu" and demo["tasks"] == 2 and demo["runtime"] == 33
    assert set(resources) == set(demo) == set(RESOURCE_KEYS)


def test_activation_checkpointing_lowers_the_memory_the_job_is_judged_by():
    spec = pretraining_spec()
    spec["model"] = {"name": "hyenadna", "preset": "medium-450k"}
    spec["context_length"] = 450002
    without = plan_job(TrainingJob("s", "long", spec), compute_block(max_allocations=10**6))
    assert not without.fits and "GPU memory" in without.problems[0]
    spec["model"]["activation_checkpointing"] = True
    spec["training"]["batch_size"] = 1
    checkpointed = plan_job(TrainingJob("s", "long", spec), compute_block(max_allocations=10**6))
    assert checkpointed.cost.memory_bytes_checkpointed < without.cost.memory_bytes
    assert checkpointed.fits


def override(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "override.yaml"
    path.write_text(text)
    return path


def test_plan_compute_passes_on_the_tiny_config(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)  # the config's relative paths are relative to the workflow directory
    extra = override(tmp_path, "compute: {training_gpus: 1, throughput_table: null}\n")
    tsv, md = tmp_path / "plan.tsv", tmp_path / "plan.md"
    assert cli.main(["plan-compute", "--configfile", str(E2E_CONFIG), str(extra), "--tsv", str(tsv),
                     "--markdown", str(md)]) == 0
    lines = tsv.read_text().splitlines()
    header = lines[0].split("\t")
    rows = [dict(zip(header, line.split("\t"))) for line in lines[1:]]
    assert {row["study"] for row in rows} == {"cancer_type", "virbert", "small_transformers", "enbed"}
    assert all(row["fits"] == "True" for row in rows)
    assert all(int(row["parameters"]) > 0 for row in rows if row["model"] not in ("kmer-logreg", "copy-parent"))
    assert "| study | jobs |" in md.read_text()


def test_plan_compute_fails_naming_the_job_on_one_minute_allocations(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    extra = override(tmp_path, "compute: {training_gpus: 1, throughput_table: null, allocation_hours: 0.0166667,\n"
                               "          max_allocations: 5}\n")
    tsv = tmp_path / "plan.tsv"
    assert cli.main(["plan-compute", "--configfile", str(E2E_CONFIG), str(extra), "--tsv", str(tsv)]) == 2
    message = capsys.readouterr().err
    assert "training job cancer_type/" in message and "allocations of 0.0166667 h" in message
    assert not tsv.exists()  # no partial output


def test_pilot_config_fits_one_four_gpu_node_within_a_day(tmp_path, monkeypatch):
    """config/pilot.yaml: every job fits its GPU and one allocation, and the GPU-hours fill 4 GPUs under a day."""
    monkeypatch.chdir(REPO)
    extra = override(tmp_path, "compute: {throughput_table: null}\n")
    tsv = tmp_path / "pilot.tsv"
    assert cli.main(["plan-compute", "--configfile", str(REPO / "config" / "pilot.yaml"), str(extra),
                     "--tsv", str(tsv)]) == 0
    lines = tsv.read_text().splitlines()
    header = lines[0].split("\t")
    rows = [dict(zip(header, line.split("\t"))) for line in lines[1:]]
    assert {row["study"] for row in rows} == {"cancer_type", "virbert", "small_transformers", "enbed"}
    assert all(int(row["allocations"]) == 1 for row in rows)
    assert sum(float(row["gpu_hours"]) for row in rows) / 4 < 24


def test_a_spec_without_training_settings_is_costed_at_the_schema_defaults():
    spec = pretraining_spec()
    spec["training"] = {}
    schema_training = load_schema()["$defs"]["training"]["properties"]
    steps, batch = schema_training["max_steps"]["default"], schema_training["batch_size"]["default"]
    cost = plan_job(TrainingJob("s", "defaults", spec), compute_block()).cost
    assert cost.tokens == steps * batch * spec["context_length"]


def test_an_encoder_decoder_decoder_sees_span_corruption_targets_and_no_tokens_under_a_classifier():
    from genolm.compute import decoder_tokens, job_cost

    objective = {"name": "span_corruption", "noise_density": 0.15, "mean_span_length": 20}
    assert decoder_tokens({"objective": objective}, 16384) == 2458 + 123 + 1  # dropped bases, sentinels, </s>
    model = {"name": "enbed", "preset": "enbed-small"}
    base = {"tokenizer": {"name": "byte"}, "model": model, "context_length": 513, "training": {"max_steps": 10}}
    pretraining = job_cost(TrainingJob("s", "pre", {**base, "objective": objective}))
    generation = job_cost(TrainingJob("s", "gen", {**base, "head": {"name": "generation"}}))
    classifier = job_cost(TrainingJob("s", "cls", {**base, "head": {"name": "classification", "label_names": ["a", "b"]}}))
    assert classifier.flops < pretraining.flops < generation.flops
