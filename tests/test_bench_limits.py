"""benchmarks/bench_limits.py runs (small GEMM, one short tiny-1k step), so `make benchmark` stays runnable."""

from test_benchmarks import BENCH, run_bench, table_rows


def test_peaks_per_backend():
    out = run_bench(BENCH / "bench_limits.py", "--only", "peaks", "--gemm-size", "256", "--reps", "1")
    assert "fp32 torch.mm (default, MKL)" in out and "bf16 torch.mm" in out
    assert "fp32 peak" in out and "bf16 peak" in out


def test_training_step_row_as_a_fraction_of_the_peak():
    out = run_bench(BENCH / "bench_limits.py", "--only", "steps", "--fp32-peak", "100", "--benchmarks", "tiny-1k",
                    "--steps", "1", "--variants", "fp32", "fp32 onednn", "--allocators", "glibc", timeout=600)
    rows = table_rows(out, "tiny-1k")
    assert [r[2:4] for r in rows] == [["fp32", "19.7"], ["fp32", "onednn"]]
    fp32 = rows[0]
    gflop, seconds, rate, percent = float(fp32[3]), float(fp32[4]), float(fp32[5]), float(fp32[6].rstrip("%"))
    # 19.7 GFLOP: the GEMMs of a tiny-1k step at L = 1,025, batch 8 (FlopCounterMode)
    assert abs(rate - gflop / seconds) < 0.1 * rate and abs(percent - rate) < 0.1 * rate  # peak 100 GFLOP/s
    assert "gradient error" in out and "SDPA dropout 0.1" in out
