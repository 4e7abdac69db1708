# The tidy results table (results/tables/metrics.parquet + .tsv) and its summary figure, from the per-job tables the
# studies registered in METRIC_TABLES.


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
        figure=f"{RESULTS}/plots/{{study}}/metrics_summary.png",
    log:
        f"{RESULTS}/logs/collect_metrics_{{study}}.log",
    conda:
        "../../envs/train.yaml"
    shell:
        "python -m genolm collect-metrics {input:q} --out {output.parquet:q} --tsv {output.tsv:q} --plot {output.figure:q} > {log:q} 2>&1"
