# The tidy results table (results/tables/metrics.parquet + .tsv) and its summary figure, from the per-job tables the
# studies registered in METRIC_TABLES; each study's slice of it; the HTML pages of the studies' tables for the report
# (`snakemake --report`: a category per study, subcategories tables / figures / results; docs/outputs.md).


rule collect_metrics:
    input:
        lambda wc: [f for tables in METRIC_TABLES.values() for f in tables],
    output:
        parquet=f"{RESULTS}/tables/metrics.parquet",
        tsv=f"{RESULTS}/tables/metrics.tsv",
        figure=report(f"{RESULTS}/plots/metrics_summary.png", caption="../report/metrics_summary.rst", category="Results"),
    log:
        f"{RESULTS}/logs/collect_metrics.log",
    conda:
        "../../envs/train.yaml"
    shell:
        "python -m genolm collect-metrics {input:q} --out {output.parquet:q} --tsv {output.tsv:q} --plot {output.figure:q} > {log:q} 2>&1"


rule collect_study_metrics:
    """One study's rows alone, for `make <study>` (rule <study>): the same table, none of the other studies' jobs."""
    input:
        lambda wc: METRIC_TABLES[wc.study],
    output:
        parquet=f"{RESULTS}/tables/{{study}}/metrics.parquet",
        tsv=f"{RESULTS}/tables/{{study}}/metrics.tsv",
        figure=report(f"{RESULTS}/plots/{{study}}/metrics_summary.png", caption="../report/metrics_summary.rst",
                      category="{study}", subcategory="results"),
    log:
        f"{RESULTS}/logs/collect_metrics_{{study}}.log",
    conda:
        "../../envs/train.yaml"
    shell:
        "python -m genolm collect-metrics {input:q} --out {output.parquet:q} --tsv {output.tsv:q} --plot {output.figure:q} > {log:q} 2>&1"


rule table_html:
    """A study's table as an HTML page: the report shows HTML inline, Markdown and TSV only as download links."""
    input:
        lambda wc: study_tables(wc.study)[wc.page],
    output:
        report(f"{RESULTS}/tables/{{study}}/{{page}}.html", caption="../report/table.rst", category="{study}",
               subcategory=lambda wc: "results" if wc.page == "metrics" else "tables"),
    wildcard_constraints:
        study=r"[^/]+",
        page=r"[^/]+",
    log:
        f"{RESULTS}/{{study}}/logs/table_html_{{page}}.log",
    conda:
        "../../envs/train.yaml"
    shell:
        "python -m genolm table-html {input:q} --out {output:q} > {log:q} 2>&1"
