"""Which seeds one replicate of a study runs with.

A replicate is one seed N of the config's `seeds` (its results live under `seed<N>/`). It is a whole chain: it
fine-tunes with N and draws its labelled subset with N (genolm.datasets.labels), and, as the study's `replicate`
block says (`$defs/replicate` in genolm/schemas/config.schema.yaml), it draws its own data split with N
(`split: true`) and runs its own pretraining with N (`pretraining: true`). What a study keeps fixed is drawn once
with the global `seed`, so every replicate shares it (a published split; one pretraining). The results table
records each job's `split_seed`, `pretrain_seed` and `seed` from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ReplicateSeeds:
    split_seed: int
    pretrain_seed: int
    seed: int


def replicate_seeds(config: Mapping, block: Mapping, seed: int) -> ReplicateSeeds:
    """The seeds of replicate `seed` of the study whose validated config block is `block`."""
    varies = block["replicate"]
    seed = int(seed)
    return ReplicateSeeds(split_seed=seed if varies["split"] else int(config["seed"]),
                          pretrain_seed=seed if varies["pretraining"] else int(config["seed"]), seed=seed)


def split_seeds(config: Mapping, block: Mapping) -> list[int]:
    """The distinct split seeds the study's replicates draw (one data split each), in `seeds` order."""
    return list(dict.fromkeys(replicate_seeds(config, block, s).split_seed for s in config["seeds"]))


def pretrain_seeds(config: Mapping, block: Mapping) -> list[int]:
    """The distinct pretraining seeds of the study's replicates (one pretraining run each), in `seeds` order."""
    return list(dict.fromkeys(replicate_seeds(config, block, s).pretrain_seed for s in config["seeds"]))


__all__ = ["ReplicateSeeds", "pretrain_seeds", "replicate_seeds", "split_seeds"]
