"""How long Snakemake takes to plan the full-scale run (config/full_scale.yaml), and how many jobs it plans.

    python benchmarks/bench_full_scale.py [--configfile config/full_scale.yaml] [--repeats 1]

The full-scale configuration names files a lab provides by hand (under /data and /models: DepMap's files, released
checkpoints, benchmark zips). A dry run needs them to exist, not to hold anything, so this script plans the run in
a scratch directory where each such path is an empty stand-in (the config's copy points there; nothing else
changes), with `snakemake -n` in a fresh working directory: every job is planned, none is run. It prints the job
count per rule, the total, and the wall time of the dry run (parsing, config validation, DAG).
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
HAND_PROVIDED = ("/data/", "/models/")
# Directories the workflow reads as model checkpoints (the rest are files).
CHECKPOINT_KEYS = {"checkpoint"}


def stand_in_config(config: dict, scratch: Path) -> dict:
    """The config with every hand-provided path moved under `scratch`, where an empty stand-in is created."""

    def visit(node, key=None):
        if isinstance(node, dict):
            return {k: visit(v, k) for k, v in node.items()}
        if isinstance(node, list):
            return [visit(v, key) for v in node]
        if isinstance(node, str) and node.startswith(HAND_PROVIDED):
            path = scratch / node.lstrip("/")
            if key in CHECKPOINT_KEYS:
                path.mkdir(parents=True, exist_ok=True)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.touch()
            return str(path)
        return node

    return visit(config)


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def dry_run(configfile: Path) -> tuple[float, float, dict[str, int], int]:
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        config = stand_in_config(yaml.safe_load(configfile.read_text()), scratch / "hand-provided")
        config_path = scratch / "full_scale.yaml"
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        workdir = scratch / "work"
        workdir.mkdir()
        command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory",
                   str(workdir), "--configfile", str(config_path), "-n", "--quiet", "rules", "--cores", "1"]
        start = time.perf_counter()
        cpu_before = _children_cpu_seconds()
        result = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
        seconds = time.perf_counter() - start
        cpu = _children_cpu_seconds() - cpu_before
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise SystemExit(f"dry run failed ({result.returncode}):\n{output[-4000:]}")
    counts = {}
    total = None
    for line in output.splitlines():
        match = re.match(r"^(\S+)\s+(\d+)\s*$", line.strip())
        if match:
            if match.group(1) == "total":
                total = int(match.group(2))
            else:
                counts[match.group(1)] = int(match.group(2))
    if total is None:
        raise SystemExit(f"no job statistics in the dry run's output:\n{output[-4000:]}")
    return seconds, cpu, counts, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", type=Path, default=REPO / "config" / "full_scale.yaml")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    times, cpu_times = [], []
    for _ in range(args.repeats):
        seconds, cpu, counts, total = dry_run(args.configfile)
        times.append(seconds)
        cpu_times.append(cpu)
    print(f"snakemake -n --configfile {args.configfile.relative_to(REPO) if args.configfile.is_relative_to(REPO) else args.configfile}")
    for rule, count in sorted(counts.items(), key=lambda item: -item[1]):
        print(f"  {rule:<40} {count:>6}")
    print(f"jobs planned: {total}; dry run: {min(times):.1f} s wall, {min(cpu_times):.1f} s CPU "
          f"(best of {len(times)})")


if __name__ == "__main__":
    main()
