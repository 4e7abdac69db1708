from __future__ import annotations

from pathlib import Path

import polars as pl

from genolm.commands._common import add_context_arguments, add_tracking_arguments, open_run, results_context
from genolm.results import metric_rows, write_table

HELP = "UMAP grids of embeddings coloured by chromosome, positional bin and cancer type, each backed by kNN accuracy."


def add_arguments(parser) -> None:
    parser.add_argument("--embeddings", type=Path, required=True)
    # Defaults live in the config schema (studies.cancer_type.umap), which the workflow passes in full.
    parser.add_argument("--n-neighbors", type=int, nargs="+", required=True)
    parser.add_argument("--min-dist", type=float, nargs="+", required=True)
    parser.add_argument("--position-bins", type=int, required=True)
    parser.add_argument("--highlight-bins", type=int, required=True)
    parser.add_argument("--knn-k", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--context-length", type=int, required=True)
    parser.add_argument("--init", required=True)
    parser.add_argument("--plots", type=Path, required=True, help="directory for umap_*.png")
    parser.add_argument("--out", type=Path, required=True, help="metrics.parquet of this evaluation")
    add_tracking_arguments(parser)
    add_context_arguments(parser)


def run(args) -> int:
    # Imported here: UMAP, scikit-learn and matplotlib take seconds, which `genolm --help` need not pay.
    from genolm.studies.cancer_type.umap_grid import analyse

    table = pl.read_parquet(args.embeddings)
    job_run = open_run(args, args.out.parent / (args.out.stem + "_mlflow"), inputs=[args.embeddings])
    job_run.log_params({"n_neighbors": args.n_neighbors, "min_dist": args.min_dist, "position_bins": args.position_bins,
                        "knn_k": args.knn_k, "seed": args.seed})
    metrics = analyse(table, out_dir=args.plots, n_neighbors=args.n_neighbors, min_dist=args.min_dist,
                      bins=args.position_bins, highlight_bins=args.highlight_bins, k=args.knn_k, seed=args.seed,
                      title=args.experiment)
    job_run.log_results(metrics)
    context = results_context(args, context_length=args.context_length, init=args.init)
    write_table(metric_rows(context, metrics, job_run.run_id), args.out)
    job_run.log_artifact(args.plots, "figures")
    job_run.log_artifact(args.out, "tables")
    job_run.finish()
    return 0
