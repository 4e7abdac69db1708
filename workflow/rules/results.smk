# The tidy results table (results/tables/metrics.parquet + .tsv) and its summary figure, from the per-job tables the
# studies registered in METRIC_TABLES.


rule collect_metrics:
    input:
        lambda wc: METRIC_TABLES,
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
