"""`genolm plan-compute` on the full-scale configuration (issue #28.3): it passes as committed (the ENBED
pretrainings fit their GPU by activation checkpointing), and fails naming a job when its allocations are cut to
one minute."""

from __future__ import annotations

from conftest import REPO
from genolm import cli

FULL_SCALE = REPO / "config" / "full_scale.yaml"


def test_plan_compute_passes_on_the_full_scale_config(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)  # compute.throughput_table is relative to the workflow directory
    assert cli.main(["plan-compute", "--configfile", str(FULL_SCALE), "--tsv", str(tmp_path / "plan.tsv")]) == 0
    lines = (tmp_path / "plan.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    rows = [dict(zip(header, line.split("\t"))) for line in lines[1:]]
    assert len(rows) > 800 and all(row["fits"] == "True" for row in rows)


def test_plan_compute_fails_the_full_scale_config_on_one_minute_allocations(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    minute = tmp_path / "minute.yaml"
    minute.write_text("compute: {allocation_hours: 0.0166667}\n")
    assert cli.main(["plan-compute", "--configfile", str(FULL_SCALE), str(minute)]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "training job " in error and " does not fit: needs " in error and "allocations of 0.0166667 h" in error
