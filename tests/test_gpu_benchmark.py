"""benchmarks/gpu_benchmark.py: its --smoke run writes the table genolm plan-compute reads, and a smoke table is
never taken for a GPU measurement."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from genolm.compute import device_throughput, read_benchmark
from genolm.errors import GenolmInputError

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_benchmark.py"


def load_script():
    spec = importlib.util.spec_from_file_location("gpu_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


COMPUTE = {"gpu_peak_tflops": 312, "gpu_utilization": 0.4}


def test_smoke_run_measures_every_family(tmp_path):
    out = tmp_path / "smoke.json"
    assert load_script().main(["--smoke", "--out", str(out)]) == 0
    table = json.loads(out.read_text())
    assert table["smoke"] is True and table["gpu"]
    assert {row["model"] for row in table["rows"]} == {"hyenadna", "bert", "longformer", "enbed"}
    for row in table["rows"]:
        assert row["status"] == "ok" and row["tokens_per_s"] > 0 and row["flops_per_s"] > 0
    with pytest.raises(GenolmInputError, match="--smoke"):
        read_benchmark(out)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without a GPU")
def test_full_run_refuses_to_measure_without_a_gpu(tmp_path):
    out = tmp_path / "gpu.json"
    assert load_script().main(["--out", str(out)]) == 2
    assert not out.exists()


def test_a_measured_family_replaces_the_assumption(tmp_path):
    table = tmp_path / "gpu.json"
    table.write_text(json.dumps({"gpu": "Some GPU", "smoke": False, "rows": [
        {"model": "bert", "status": "ok", "flops_per_s": 2.0e14},
        {"model": "hyenadna", "status": "out of memory"}]}))
    measured = read_benchmark(table)
    assert device_throughput("bert", COMPUTE, measured) == (2.0e14, "measured on Some GPU")
    assumed, source = device_throughput("hyenadna", COMPUTE, measured)
    assert assumed == pytest.approx(0.4 * 312e12) and source.startswith("assumed 40%")
    assert read_benchmark(tmp_path / "absent.json") is None
