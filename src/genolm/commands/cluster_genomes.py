"""`genolm cluster-genomes`: homology clusters of genomes (genolm.datasets.leaks.cluster_genomes), written as the
families TSV (`genome_id`, `family`) a homology-aware split reads (virBERT's `families`)."""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path

HELP = ("Single-linkage clusters of genomes at a Mash distance over FracMinHash sketches; writes a families TSV "
        "(genome_id, family) for a split by cluster.")

log = logging.getLogger("genolm")


def add_arguments(parser) -> None:
    parser.add_argument("--genomes", type=Path, nargs="+", required=True,
                        help="Parquet tables with genome_id and sequence (one row per record; a genome's segments "
                             "share its genome_id), or FASTA files (each record its own genome)")
    # k, scaled and max_distance come from the config's $defs/homology_clusters, which holds their defaults.
    parser.add_argument("--k", type=int, required=True)
    parser.add_argument("--scaled", type=int, required=True)
    parser.add_argument("--max-distance", type=float, required=True)
    parser.add_argument("--out", type=Path, required=True, help="families TSV: genome_id, family")


def _genome_sequences(paths: list[Path]) -> dict[str, list[str]]:
    import polars as pl

    from genolm.commands.leak_check import _is_fasta
    from genolm.errors import GenolmInputError

    genomes: dict[str, list[str]] = defaultdict(list)
    for path in paths:
        if _is_fasta(path):
            from genolm.sources.fasta import read_fasta

            for title, sequence in read_fasta(path):
                genomes[title.split()[0] if title.split() else title].append(sequence)
            continue
        try:
            table = pl.read_parquet(path, columns=["genome_id", "sequence"])
        except (OSError, pl.exceptions.PolarsError) as error:
            raise GenolmInputError(path, f"cannot read genome_id and sequence ({str(error).splitlines()[0]})") from None
        for row, (genome, sequence) in enumerate(table.iter_rows()):
            if genome is None or sequence is None:
                raise GenolmInputError(path, "genome_id or sequence is null", record=f"row {row}")
            genomes[genome].append(sequence)
    if not genomes:
        raise GenolmInputError(paths[0], "no genomes")
    return genomes


def run(args) -> int:
    import polars as pl

    from genolm.atomic import atomic_file
    from genolm.datasets.leaks import canonical_kmers, cluster_genomes
    from genolm.errors import GenolmInputError

    if not 1 <= args.k <= 32:
        raise GenolmInputError("--k", f"k must be 1..32, got {args.k}")
    if args.scaled < 1 or not 0 <= args.max_distance <= 1:
        raise GenolmInputError("--scaled/--max-distance", "scaled must be >= 1 and max-distance in [0, 1]")
    genomes = _genome_sequences(args.genomes)
    sketches = {name: canonical_kmers(sequences, args.k, scaled=args.scaled) for name, sequences in genomes.items()}
    empty = sorted(name for name, sketch in sketches.items() if not len(sketch))
    if empty:
        # An empty sketch shares nothing with anything: the genome would silently become a cluster of its own.
        raise GenolmInputError(args.genomes[0], f"{len(empty)} genome(s) have no {args.k}-mer in the sketch "
                                                f"(too short for scaled {args.scaled}): lower --scaled",
                               record=f"genome {empty[0]}")
    clusters = cluster_genomes(sketches, args.k, args.max_distance)
    table = pl.DataFrame({"genome_id": list(clusters), "family": list(clusters.values())})
    with atomic_file(args.out) as tmp:
        table.write_csv(tmp, separator="\t")
    log.info("cluster-genomes: %d genomes in %d clusters (largest %d) at Mash distance <= %g",
             len(table), table["family"].n_unique(), int(table["family"].value_counts()["count"].max()),
             args.max_distance)
    return 0
