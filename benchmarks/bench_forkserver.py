"""Wall time of N sequential tiny `python -m genolm` commands with and without the fork server (genolm.forkserver,
docs/performance.md#fork-server).

    python benchmarks/bench_forkserver.py                      # 10 x `genolm table-html` on a two-line table
    python benchmarks/bench_forkserver.py --shards DIR         # and 10 x a 3-step `genolm train` on DIR's shards
                                                               # (64-bp windows, labels Lung/Lymphoid: the tests'
                                                               # tiny_shards fixture)

The runs through the server start from an empty server directory, so the first one pays the server's start;
plain and served runs alternate, so that both see the same load.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

TINY_TRAIN_SPEC = {
    "tokenizer": {"name": "character"},
    "model": {"name": "hyenadna", "preset": "tiny-1k", "d_model": 16, "n_layer": 1, "d_inner": 32, "filter_order": 16,
              "l_max": 66},
    "head": {"name": "classification", "pooling": "mean", "label_names": ["Lung", "Lymphoid"]},
    "init": "random", "context_length": 65, "group_column": "sample",
    "training": {"max_steps": 3, "batch_size": 8, "warmup_steps": 2, "val_every_n_steps": 4,
                 "checkpoint_every_n_steps": 2},
}


def timed_run(command: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "genolm", *command], env=env, cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def compare(name: str, make_commands, runs: int, work: Path) -> dict:
    """The same N commands plain and through a fork server, alternating (so both see the same load)."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    env.pop("GENOLM_FORKSERVER", None)
    env.pop("SLURM_JOB_ID", None)
    envs = {"plain": env, "forkserver": {**env, "GENOLM_FORKSERVER": str(work / name / "servers"),
                                          "GENOLM_FORKSERVER_IDLE_S": "30"}}
    commands = {}
    for mode in envs:
        (work / name / mode).mkdir(parents=True)
        commands[mode] = make_commands(work / name / mode, runs)
    results: dict[str, list[float]] = {mode: [] for mode in envs}
    for index in range(runs):
        for mode, mode_env in envs.items():
            results[mode].append(timed_run(commands[mode][index], mode_env, work / name / mode))
    for mode, seconds in results.items():
        print(f"{name:12s} {mode:10s} total {sum(seconds):7.1f} s  first {seconds[0]:6.2f} s  "
              f"median {sorted(seconds)[len(seconds) // 2]:6.2f} s")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--shards", type=Path, help="tiny training shards: also time `genolm train`")
    parser.add_argument("--json", type=Path, help="write the seconds of every run here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_forkserver_"))
    try:
        table = work / "table.tsv"
        table.write_text("model\tauroc\nhyenadna\t0.75\n")
        results = {"table-html": compare(
            "table-html", lambda d, n: [["table-html", str(table), "--out", str(d / f"{i}.html")] for i in range(n)],
            args.runs, work)}
        if args.shards:
            def train_commands(directory: Path, n: int) -> list[list[str]]:
                return [["train", "--spec", json.dumps(TINY_TRAIN_SPEC), "--shards", str(args.shards.resolve()),
                         "--seed", "1", "--out", str(directory / f"job{i}"), "--results-dir",
                         str(directory / f"results{i}"), "--study", "cancer_type", "--task", "t", "--experiment", "e",
                         "--threads", "1"] for i in range(n)]
            results["train"] = compare("train", train_commands, args.runs, work)
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
