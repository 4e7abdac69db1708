"""The Snakemake report as the lab's front page and one output layout for every study (docs/outputs.md).

The workflow tests plan the demo configuration (config.yaml) with Snakemake's own DAG, running no job: what each
study's report category holds, which caption each figure carries, where every table and figure lands, and what
`make <study>` asks for after `make demo`."""

from __future__ import annotations

import base64
import json
import os
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest
import yaml

from conftest import E2E_CONFIG, REPO, run_genolm, run_snakemake
from genolm.analysis.html_tables import html_page
from genolm.errors import GenolmInputError

STUDIES = sorted(p.stem for p in (REPO / "workflow" / "rules" / "studies").glob("*.smk"))
VIEWABLE = (".png", ".svg", ".html", ".pdf")  # what snakemake 9's report shows inline; anything else is a download

# Each figure kind and the one caption that describes it (workflow/report/<caption>).
FIGURE_CAPTIONS = [
    (r"^results/plots/metrics_summary\.png$", "metrics_summary.rst"),
    (r"^results/plots/[^/]+/metrics_summary\.png$", "metrics_summary.rst"),
    (r"/loss\.png$", "loss.rst"),
    (r"^results/plots/cancer_type/.+/umap_chromosome\.png$", "umap_chromosome.rst"),
    (r"^results/plots/cancer_type/.+/umap_position_bin\.png$", "umap_position_bin.rst"),
    (r"^results/plots/cancer_type/.+/umap_cancer_type\.png$", "umap_cancer_type.rst"),
    (r"^results/plots/virbert/recall_vs_label_fraction\.png$", "virbert_recall_vs_label_fraction.rst"),
    (r"^results/plots/small_transformers/pretraining\.png$", "small_transformers_pretraining.rst"),
    (r"^results/plots/small_transformers/species_12s\.png$", "small_transformers_species_12s.rst"),
    (r"^results/plots/small_transformers/tss_localization\.png$", "small_transformers_tss_localization.rst"),
    (r"^results/plots/small_transformers/chromatin_profiles\.png$", "small_transformers_chromatin_profiles.rst"),
    (r"^results/plots/enbed/attention_[^/]+\.png$", "enbed_attention.rst"),
    (r"^results/plots/enbed/(?!metrics_summary\.png$|comparisons\.png$|attention_)[^/]+\.png$", "enbed_task.rst"),
    (r"^results/plots/[^/]+/comparisons\.png$", "comparisons.rst"),
    (r"^results/plots/benchmarks/leaderboard\.png$", "benchmarks_leaderboard.rst"),
]


# --- genolm table-html ---


def test_markdown_table_becomes_an_html_table_with_its_cells(tmp_path):
    source = tmp_path / "paper_tables.md"
    source.write_text("# Table 1\n\n| arm | recall |\n| --- | --- |\n| pretrained | 71.2 ± 1.0 |\n\n<script>x</script>\n")
    page = html_page(source)
    assert "<h1>Table 1</h1>" in page
    assert re.search(r"<th>arm</th>\s*<th>recall</th>", page)
    assert re.search(r"<td>pretrained</td>\s*<td>71.2 ± 1.0</td>", page)
    assert "<script>" not in page and "&lt;script&gt;" in page  # raw HTML in a table file is shown, never run
    assert page.startswith("<!DOCTYPE html>") and 'charset="utf-8"' in page


def test_tsv_becomes_one_table_with_every_row_as_written(tmp_path):
    source = tmp_path / "metrics.tsv"
    rows = [f"e{i}\t0.{i:03d}00\t" for i in range(250)]
    source.write_text("experiment\tvalue\tci_low\n" + "\n".join(rows) + "\n<b>\t1\t\n")
    page = html_page(source)
    assert page.count("<tr>") == 252  # header and every row: no truncation as in a notebook preview
    assert "<td>0.01200</td>" in page  # the text as written, no re-rounding
    assert "<td>&lt;b&gt;</td>" in page


def test_table_html_rejects_a_missing_or_unknown_table_in_one_line(tmp_path):
    with pytest.raises(GenolmInputError, match="neither a Markdown"):
        (tmp_path / "t.csv").write_text("a,b\n")
        html_page(tmp_path / "t.csv")
    result = run_genolm("table-html", str(tmp_path / "absent.md"), "--out", str(tmp_path / "out.html"), check=False)
    assert result.returncode == 2
    command, *message = result.stderr.strip().splitlines()  # the command line that reruns it, then its output
    assert command.startswith("$ python -m genolm table-html ")
    assert len(message) == 1 and "absent.md: does not exist" in message[0]
    assert not (tmp_path / "out.html").exists()


# --- the demo workflow, planned ---


@pytest.fixture(scope="module")
def demo_plan(tmp_path_factory):
    """The demo configuration's DAG for `all` and every study's target, built by Snakemake without running a job
    (in an empty working directory: nothing exists, everything is planned)."""
    from snakemake.api import SnakemakeApi
    from snakemake.io import get_flag_value, is_flagged
    from snakemake.settings.types import (ConfigSettings, DAGSettings, OutputSettings, Quietness, ResourceSettings,
                                          StorageSettings)

    workdir = tmp_path_factory.mktemp("demo_plan")
    saved_environ, saved_path = dict(os.environ), list(sys.path)  # common.smk sets PYTHONPATH and sys.path
    try:
        with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
            workflow_api = api.workflow(resource_settings=ResourceSettings(cores=1),
                                        config_settings=ConfigSettings(configfiles=[REPO / "config.yaml"]),
                                        storage_settings=StorageSettings(), snakefile=REPO / "Snakefile", workdir=workdir)
            dag_api = workflow_api.dag(dag_settings=DAGSettings(targets={"all", *STUDIES}))
            workflow = dag_api.workflow_api._workflow
            # what `snakemake -n` and `--dag` do before they print: the DAG, no job run
            workflow._prepare_dag(forceall=False, ignore_incomplete=True, lock_warn_only=True)
            workflow._build_dag()
            jobs = list(workflow.dag.jobs)
            report = []
            for job in jobs:
                for output in job.output:
                    if is_flagged(output, "report"):
                        flag = get_flag_value(output, "report")
                        report.append(SimpleNamespace(
                            path=str(output), rule=job.rule.name, wildcards=dict(job.wildcards),
                            caption=Path(str(flag.caption)).resolve(),
                            category=expand_report_argument(flag.category, job),
                            subcategory=expand_report_argument(flag.subcategory, job)))
    finally:
        os.environ.clear()
        os.environ.update(saved_environ)
        sys.path[:] = saved_path
    return SimpleNamespace(
        report=report,
        inputs={job.rule.name: {str(f) for f in job.input} for job in jobs if job.rule.name in ("all", *STUDIES)},
        outputs={str(f) for job in jobs for f in job.output},
    )


def expand_report_argument(value, job):
    """A report category or subcategory as the report names it: a function of the wildcards, or a pattern."""
    from snakemake.io import apply_wildcards

    if callable(value):
        value = value(job.wildcards)
    return apply_wildcards(value, job.wildcards) if isinstance(value, str) else value


def test_every_study_has_tables_figures_and_its_results_slice_in_its_report_category(demo_plan):
    for study in STUDIES:
        entries = [e for e in demo_plan.report if e.category == study]
        by_subcategory = {sub: [e.path for e in entries if e.subcategory == sub] for sub in ("tables", "figures", "results")}
        for subcategory, paths in by_subcategory.items():
            assert paths, f"{study}: nothing under {subcategory} in the report"
        assert f"results/tables/{study}/metrics.html" in by_subcategory["results"]
        assert all(p.startswith(f"results/tables/{study}/") for p in by_subcategory["tables"]), by_subcategory["tables"]
        assert all(p.startswith(f"results/plots/{study}/") for p in by_subcategory["figures"]), by_subcategory["figures"]
        assert {e.subcategory for e in entries} == {"tables", "figures", "results"}


def test_every_report_entry_is_shown_inline_not_as_a_download(demo_plan):
    hidden = [e.path for e in demo_plan.report if not e.path.endswith(VIEWABLE)]
    assert not hidden, f"the report would only offer these as downloads: {hidden}"
    paper_tables = {e.path for e in demo_plan.report if e.path.endswith("/paper_tables.html")}
    assert paper_tables == {f"results/tables/{s}/paper_tables.html" for s in ("enbed", "small_transformers", "virbert")}


def test_each_figure_carries_the_caption_of_its_own_kind(demo_plan):
    figures = [e for e in demo_plan.report if e.path.endswith(".png")]
    assert figures
    for entry in figures:
        kinds = [caption for pattern, caption in FIGURE_CAPTIONS if re.search(pattern, entry.path)]
        assert len(kinds) == 1, f"{entry.path}: figure kinds {kinds}"
        assert entry.caption == (REPO / "workflow" / "report" / kinds[0]).resolve(), (
            f"{entry.path} ({entry.rule}) carries {entry.caption.name}, not {kinds[0]}")


def test_every_table_page_has_a_caption_written_for_it(demo_plan):
    """table.rst renders a paragraph per (study, page); a page falling through to the generic line was registered
    without one."""
    from docutils.core import publish_parts

    pages = [e for e in demo_plan.report if e.rule == "table_html"]
    assert {e.wildcards["study"] for e in pages} == set(STUDIES)
    template = jinja2.Template((REPO / "workflow" / "report" / "table.rst").read_text())
    for entry in pages:
        text = template.render(snakemake=SimpleNamespace(wildcards=SimpleNamespace(**entry.wildcards)))
        assert f"study's table {entry.wildcards['page']}" not in text, f"{entry.path}: no caption of its own"
        publish_parts(text, writer="html", settings_overrides={"halt_level": 2, "report_level": 5})  # valid rst


def test_every_table_lies_under_results_tables_study_and_every_figure_under_results_plots(demo_plan):
    final = demo_plan.inputs["all"]
    for path in final:
        if path.endswith((".md", ".tsv", ".html")):
            # tables under results/tables/<study>/; a stage's QC table beside its study's data (results/<study>/qc/,
            # per replicate's split where the stage runs per split)
            assert (path == "results/tables/metrics.tsv" or re.match(r"results/tables/[^/]+/[^/]+$", path)
                    or re.match(rf"results/({'|'.join(STUDIES)})/qc/.+\.tsv$", path)), path
        if path.endswith(".png"):
            assert path == "results/plots/metrics_summary.png" or re.match(r"results/plots/[^/]+/", path), path
        if path.startswith("results/"):
            top = path.split("/")[1]
            assert top in ("tables", "plots", *STUDIES), f"{path}: outside the documented layout (docs/outputs.md)"
            if top in ("tables", "plots") and path.count("/") > 2:
                assert path.split("/")[2] in STUDIES, path
    assert not [p for p in demo_plan.outputs if re.match(r"results/[^/]+/tables/", p)], "a table outside results/tables/"


def test_make_demo_builds_each_study_slice_so_make_study_afterwards_plans_nothing(demo_plan):
    final = demo_plan.inputs["all"]
    for study in STUDIES:
        assert f"results/tables/{study}/metrics.tsv" in final
        assert f"results/tables/{study}/metrics.html" in final
        missing = demo_plan.inputs[study] - final
        assert not missing, f"make {study} after make demo would still build {sorted(missing)}"


def test_make_study_prints_paths_that_hold_the_study_outputs(demo_plan):
    makefile = (REPO / "Makefile").read_text()
    recipe = re.search(r"^\$\(STUDIES\):.*\n((?:\t.*\n)+)", makefile, re.M).group(1)
    echo = next(line for line in recipe.splitlines() if "@echo" in line)
    for study in STUDIES:
        printed = [p.rstrip(',;)"') for p in re.findall(r"results/\S+", echo.replace("$@", study))]
        printed = [p for p in printed if not p.endswith(".html")]  # the report it tells the user how to write
        assert printed
        for path in printed:
            assert any(f == path or (path.endswith("/") and f.startswith(path)) for f in demo_plan.inputs[study]), (
                f"make {study} prints {path}, which holds none of its outputs")
    for wanted in ("results/tables/$@/", "results/plots/$@/", "results/$@/"):
        assert wanted in echo


@pytest.mark.slow
def test_the_report_of_a_finished_run_shows_each_study_with_its_tables_as_html(e2e_local_run, tmp_path):
    """`snakemake --report` on the end-to-end run: the categories and pages a lab opens, as Snakemake writes them."""
    report = tmp_path / "report.html"
    result = run_snakemake(e2e_local_run, "--report", str(report), timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    text = report.read_text()
    categories = json.loads(re.search(r"var categories = (\{.*?\});\s*</script>", text, re.S).group(1))
    results = json.loads(re.search(r"var results = (\{.*?\});\s*</script>", text, re.S).group(1))
    # every study the end-to-end configuration runs (the benchmarks leaderboard has its own plan tests)
    ran = [study for study, block in yaml.safe_load(E2E_CONFIG.read_text())["studies"].items()
           if block.get("enabled", True)]
    assert ran and set(ran) <= set(STUDIES)
    for study in ran:
        assert set(categories[study]) == {"tables", "figures", "results"}, (study, categories.get(study))
    page = results["results/tables/virbert/paper_tables.html"]
    assert page["mime_type"] == "text/html" and "documents' tables" in page["caption"]
    html = base64.b64decode(page["data_uri"].split("base64,", 1)[1]).decode()
    assert "<table>" in html and "Table 4.1" in html
    recall = results["results/plots/virbert/recall_vs_label_fraction.png"]
    assert "macro recall" in recall["caption"] and "balanced accuracy" not in recall["caption"]
