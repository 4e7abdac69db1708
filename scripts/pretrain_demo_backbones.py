"""Pretrain the demo's HyenaDNA backbones and write them in the released layout (config.json + weights.ckpt).

The cancer-type study fine-tunes *released* HyenaDNA weights. The demo does the same with small backbones
pretrained here on the demo reference, committed under data/demo/backbones/<name>/ and loaded through the same
`checkpoint:` key a real run uses for released weights. Architecture, context and pretraining settings come from
config.yaml (`studies.cancer_type.backbones.<name>`: preset + overrides, context_length, pretraining); this script
only runs them, through the one trainer, and reports held-out perplexity (uniform over A/C/G/T is 4.0).

    python scripts/pretrain_demo_backbones.py --seed 1         # every backbone of config.yaml, seed 1
    python scripts/pretrain_demo_backbones.py --seed 2 --only tiny-1k

With --seed N a backbone is pretrained with seed N into data/demo/backbones/<name>/seed<N>/, the layout the demo's
`checkpoint: data/demo/backbones/<name>/seed{seed}` reads: one released backbone per replicate, each pretrained
with the replicate's pretraining seed (genolm.replicates). The demo's seeds 1-3 are committed.

Deterministic on a CPU (fixed seed, deterministic algorithms, one thread): a rerun on the same torch version
writes the same bytes, which `--check` verifies against the committed files without replacing them.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import polars as pl  # noqa: E402
import torch  # noqa: E402

from genolm.cli import main as genolm  # noqa: E402
from genolm.config import load_config  # noqa: E402
from genolm.models import from_pretrained  # noqa: E402
from genolm.studies.cancer_type.specs import pretraining_spec  # noqa: E402
from genolm.training.trainer import train, validate_spec  # noqa: E402

OUT = REPO / "data" / "demo" / "backbones"


def run(command: list[str]) -> None:
    if genolm(command) != 0:
        raise SystemExit(f"genolm {' '.join(command)} failed")


def pretrain(name: str, backbone: dict, study: dict, reference: Path, work: Path, seed: int) -> dict:
    pretraining = backbone["pretraining"]
    shards = work / f"windows_{name}"
    split = ["--split-by-chromosome", "val=" + ",".join(pretraining["val_chromosomes"])] if pretraining["val_chromosomes"] else []
    chromosomes = study["chromosomes"] if isinstance(study["chromosomes"], str) else ",".join(study["chromosomes"])
    run(["reference-windows", "--reference", str(reference), "--chromosomes", chromosomes,
         "--length", str(backbone["context_length"]), "--max-windows", str(pretraining["windows"]), "--seed", str(seed),
         *split, "--out", str(shards)])
    spec = validate_spec(pretraining_spec(backbone))
    job = work / f"job_{name}"
    model_dir = train(spec, shards=shards, job_dir=job, seed=seed, plots=job,
                      context={"study": "cancer_type", "experiment": f"pretrain-{name}"})
    metrics = pl.read_parquet(job / "metrics.parquet")
    values = {f"{r['split']}/{r['metric']}": r["value"] for r in metrics.iter_rows(named=True)}
    released = work / f"released_{name}"
    from_pretrained(model_dir).model.save_released(released)
    from genolm.datasets.shards import read_manifest

    splits = read_manifest(shards)["splits"]
    return {"directory": released, "steps": spec["training"]["max_steps"],
            "windows": {name: entry["rows"] for name, entry in splits.items()},
            "val_perplexity": values.get("val/perplexity"), "train_loss": values.get("train/loss")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=REPO / "config.yaml")
    parser.add_argument("--only", nargs="*", help="backbone names (default: all of the config)")
    parser.add_argument("--check", action="store_true", help="regenerate and compare with the committed files")
    parser.add_argument("--seed", type=int, required=True, help="pretrain with this seed into <name>/seed<N>/ (a replicate's backbone)")
    args = parser.parse_args()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    config = load_config(args.config)
    study = config["studies"]["cancer_type"]
    source = config["sources"][study["reference_source"]]["files"][study["reference_file"]]["url"]
    with tempfile.TemporaryDirectory(prefix="genolm-backbones-") as tmp:
        work = Path(tmp)
        reference = work / "genome.fa.gz"
        run(["prepare-reference", "--source", str(REPO / source), "--out", str(reference)])
        report = {}
        for name, backbone in study["backbones"].items():
            if args.only and name not in args.only:
                continue
            seed = args.seed
            result = pretrain(name, backbone, study, reference, work, seed)
            target, key = OUT / name / f"seed{seed}", f"{name}/seed{seed}"
            if args.check:
                same = all(filecmp.cmp(result["directory"] / f, target / f, shallow=False)
                           for f in ("config.json", "weights.ckpt"))
                print(f"{name}: {'identical to' if same else 'DIFFERS from'} {target}")
                if not same:
                    return 1
                continue
            target.mkdir(parents=True, exist_ok=True)
            for f in ("config.json", "weights.ckpt"):
                (result["directory"] / f).replace(target / f)
            report[key] = {"seed": seed, **{k: v for k, v in result.items() if k != "directory"}}
            print(f"{key}: {json.dumps(report[key])}")
        if report:
            summary = OUT / "pretraining.json"
            merged = {**(json.loads(summary.read_text()) if summary.exists() else {}), **report}
            summary.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
