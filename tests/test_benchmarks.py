"""The HyenaDNA, loader and full-scale benchmarks run (at toy sizes, on the CPU), so that `make benchmark` and the
GPU table stay runnable between the occasions they are measured."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "benchmarks"


def run_bench(*args, timeout=300):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(BENCH)])}
    result = subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, env=env,
                            timeout=timeout, cwd=REPO)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def table_rows(output, first_column):
    return [line.split() for line in output.splitlines() if line.split()[:1] == [first_column]]


def test_gpu_table_code_runs_on_the_cpu():
    out = run_bench(BENCH / "bench_hyenadna.py", "gpu", "--device", "cpu", "--presets", "tiny-1k", "--lengths", "128",
                    "--tokens-per-step", "256", "--steps", "1", "--scan-start", "64", "--max-context", "256")
    [row] = table_rows(out, "tiny-1k")[:1]
    assert row[1:3] == ["128", "2"] and float(row[3].replace(",", "")) > 0
    # the context scan doubles 64 -> 128 -> 256 and stops at the cap
    assert table_rows(out, "tiny-1k")[-1] == ["tiny-1k", "256"]


def test_memory_table_shows_checkpointing_saving():
    out = run_bench(BENCH / "bench_hyenadna.py", "memory", "--preset", "small-32k", "--lengths", "2048")
    [row] = table_rows(out, "2048")
    plain, checkpointed = float(row[1]), float(row[2])
    assert checkpointed < plain  # 4 blocks: the checkpointed step keeps about one block's activations


def test_loader_benchmark_prints_the_ratio():
    out = run_bench(BENCH / "bench_loader.py", "--windows", "96", "--batch-size", "8", "--context", "128",
                    "--workers", "0", "1", "--batches", "4", "--steps", "1")
    rows = [r for r in table_rows(out, "0") + table_rows(out, "1") if len(r) == 3]  # workers, vs CPU, vs GPU
    assert len(rows) == 2 and all(float(r[1]) > 0 and float(r[2]) > 0 for r in rows)
    assert "workers for the loader to outpace the GPU step" in out


def test_full_scale_config_plans_every_study():
    out = run_bench(BENCH / "bench_full_scale.py")
    total = int(out.split("jobs planned: ")[1].split(";")[0])
    assert total > 100
    for rule in ("cancer_type_finetune", "virbert_finetune", "enbed_train", "st_species_finetune", "all"):
        assert any(r[0] == rule for r in (line.split() for line in out.splitlines()) if r), rule


def _reference_installed():
    sys.path.insert(0, str(BENCH))
    try:
        import reference_hyenadna
    finally:
        sys.path.remove(str(BENCH))
    path = Path(os.environ.get("GENOLM_REFERENCE_HYENADNA", reference_hyenadna.cached_path()))
    return path.is_file() and importlib.util.find_spec("einops") is not None


@pytest.mark.skipif(not _reference_installed(), reason="the reference HyenaDNA is installed by `make benchmark`")
def test_ratios_against_the_reference():
    out = run_bench(BENCH / "bench_hyenadna.py", "ratios", "--lengths", "257", "--tokens-per-step", "514",
                    "--reps", "1", "--embed-length", "0")
    [row] = table_rows(out, "257")
    diff, genolm_error, reference_error = map(float, row[-3:])
    assert diff < 1e-6 and genolm_error < 1e-6 and reference_error < 1e-6  # the same function


def test_bootstrap_benchmark_checks_equal_intervals_and_prints_the_ratio():
    out = run_bench(BENCH / "bench_bootstrap.py", "--units", "6", "--per-unit", "3", "--classes", "3", "--resamples", "50")
    assert "intervals equal" in out and float(out.split("ratio")[-1]) > 0


def test_mlm_benchmark_prints_both_steps_and_their_ratio():
    out = run_bench(BENCH / "bench_mlm.py", "--batch", "4", "--length", "40", "--steps", "1")
    assert "every position" in out and "scored positions only" in out
    assert float(out.split("ratio")[-1]) > 0
