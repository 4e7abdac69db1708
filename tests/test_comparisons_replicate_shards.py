"""Replicates with their own split in `genolm compare` (genolm.comparisons, the runs' optional `group_shards`): each
run's units are looked up in its own replicate's shards, so the replicates' units differ as their splits do."""

from __future__ import annotations

import pytest

from genolm.comparisons import UnitSource, compare, load_comparisons, runs_from_arguments
from genolm.errors import GenolmInputError
from test_comparisons_units import ENTRY, PARENTS, generation_job, pair_shards


def test_each_run_reads_its_units_from_its_own_replicates_shards(tmp_path):
    targets = [p[::-1] for p in PARENTS]
    # Replicate 1's split: the PARENTS (3 distinct parents); replicate 2's: every pair its own parent (6), the same
    # targets (a pair's child is the reverse of its parent in both).
    second = [p[:4] + "ACGT"[i % 4] * 4 for i, p in enumerate(PARENTS)]
    shards = {1: pair_shards(tmp_path / "split1", PARENTS), 2: pair_shards(tmp_path / "split2", second)}
    targets_2 = [p[::-1] for p in second]
    jobs = {("enbed", 1): generation_job(tmp_path / "enbed1", targets),
            ("copy", 1): generation_job(tmp_path / "copy1", ["N"] * 6),
            ("enbed", 2): generation_job(tmp_path / "enbed2", targets_2, targets_2),
            ("copy", 2): generation_job(tmp_path / "copy2", ["N"] * 6, targets_2)}
    runs = runs_from_arguments([f"arm={arm},replicate=seed{r},split_seed={r},pretrain_seed={r},seed={r},path={path},"
                                f"group_shards={shards[r]}" for (arm, r), path in jobs.items()])
    parents = UnitSource(column="sequence")  # --group-column sequence; the shards come with each run
    table = compare(load_comparisons([{**ENTRY, "unit": "parent"}], "t"), runs, "--run", parents)
    assert table["units"][0] == round((3 + 6) / 2)  # 3 parents in replicate 1, 6 in replicate 2
    assert table["replicate_differences"][0] == "1,1"
    # One shard set for every replicate would score replicate 2's rows against replicate 1's pairs: refused.
    shared = runs_from_arguments([f"arm={arm},replicate=seed{r},split_seed={r},pretrain_seed={r},seed={r},path={path},"
                                  f"group_shards={shards[1]}" for (arm, r), path in jobs.items()])
    with pytest.raises(GenolmInputError, match="scored on other shards"):
        compare(load_comparisons([{**ENTRY, "unit": "parent"}], "t"), shared, "--run", parents)
