"""`genolm plan-compute`: the compute every training job of a configuration needs, before anything is submitted."""

from __future__ import annotations

import importlib
import io
from pathlib import Path

HELP = ("Plan the compute of every training job of a configuration (parameters, tokens, FLOPs, peak GPU memory, "
        "GPU-hours, allocations; genolm.compute); exits non-zero naming a job that cannot fit its GPU or its time "
        "budget.")

COLUMNS = ("study", "job", "model", "parameters", "tokens", "flops", "devices", "nodes", "memory_gib",
           "memory_checkpointed_gib", "checkpointing", "gpu_memory_gib", "throughput_tflops", "throughput_source",
           "gpu_hours", "duration_h", "allocations", "fits", "problems")


def add_arguments(parser) -> None:
    parser.add_argument("--configfile", type=Path, nargs="+", action="extend", required=True,
                        help="config file(s), merged in order as Snakemake merges its --configfile arguments")
    parser.add_argument("--tsv", type=Path, help="one row per training job")
    parser.add_argument("--markdown", type=Path, help="the same table and the totals per study, for the report")


def merge_configs(paths: list[Path]) -> dict:
    """Later files override earlier ones key by key, nested mappings merged (Snakemake's update_config)."""
    from genolm.yaml_files import read_yaml

    def merge(base: dict, update: dict) -> dict:
        for key, value in update.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                merge(base[key], value)
            else:
                base[key] = value
        return base

    merged: dict = {}
    for path in paths:
        merge(merged, read_yaml(path) or {})
    return merged


def training_jobs(config: dict) -> list:
    """Every study's training jobs, from its own `jobs` module (genolm.studies.<study>.jobs)."""
    jobs = []
    for name, block in config.get("studies", {}).items():
        try:
            module = importlib.import_module(f"genolm.studies.{name}.jobs")
        except ModuleNotFoundError:
            continue
        jobs += module.training_jobs(config, block)
    return jobs


def _number(value) -> str:
    if isinstance(value, float) and (value >= 1e6 or 0 < value < 1e-3):
        return f"{value:.3g}"
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1e6:
        return f"{value:.3g}"
    return str(value)


def totals(rows: list[dict]) -> list[dict]:
    """Per study: jobs, FLOPs, GPU-hours, and the jobs that do not fit."""
    studies: dict[str, dict] = {}
    for row in rows:
        total = studies.setdefault(row["study"], {"study": row["study"], "jobs": 0, "flops": 0.0, "gpu_hours": 0.0,
                                                  "longest_h": 0.0, "not_fitting": 0})
        total["jobs"] += 1
        total["flops"] += row["flops"]
        total["gpu_hours"] += row["gpu_hours"]
        total["longest_h"] = max(total["longest_h"], row["duration_h"])
        total["not_fitting"] += not row["fits"]
    return [{**t, "gpu_hours": round(t["gpu_hours"], 1)} for t in studies.values()]


def markdown(rows: list[dict], compute: dict) -> str:
    out = io.StringIO()
    out.write(f"GPU: {compute['gpu_memory_gib']:g} GiB, allocations of {compute['allocation_hours']:g} h, "
              f"at most {compute['max_allocations']} per job.\n\n")
    summary = totals(rows)
    out.write("| study | jobs | FLOPs | GPU-hours | longest job (h) | not fitting |\n| --- | --- | --- | --- | --- | --- |\n")
    for t in summary:
        out.write(f"| {t['study']} | {t['jobs']} | {t['flops']:.3g} | {t['gpu_hours']} | {t['longest_h']} | "
                  f"{t['not_fitting']} |\n")
    out.write("\n| " + " | ".join(COLUMNS) + " |\n|" + " --- |" * len(COLUMNS) + "\n")
    for row in rows:
        out.write("| " + " | ".join(_number(row[c]) for c in COLUMNS) + " |\n")
    return out.getvalue()


def run(args) -> int:
    from genolm.atomic import atomic_file
    from genolm.compute import plan_job, plan_rows, read_benchmark
    from genolm.config import validate_config
    from genolm.errors import GenolmInputError

    source = str(args.configfile[-1])
    config = validate_config(merge_configs(args.configfile), source=source)
    compute = config["compute"]
    benchmark = read_benchmark(compute["throughput_table"])
    plans = [plan_job(job, compute, benchmark) for job in training_jobs(config)]
    rows = plan_rows(plans, compute)
    table = markdown(rows, compute)
    print(table, end="")
    failing = [plan for plan in plans if not plan.fits]
    if failing:
        first = failing[0]
        more = f" (and {len(failing) - 1} more job(s))" if len(failing) > 1 else ""
        raise GenolmInputError(source, f"training job {first.study}/{first.job} does not fit: "
                                       f"{'; '.join(first.problems)}{more}")
    if args.tsv:
        with atomic_file(args.tsv) as tmp:
            lines = ["\t".join(COLUMNS)] + ["\t".join(str(row[c]) for c in COLUMNS) for row in rows]
            Path(tmp).write_text("\n".join(lines) + "\n")
    if args.markdown:
        with atomic_file(args.markdown) as tmp:
            Path(tmp).write_text(table)
    return 0
