# The tidy results table (results/tables/metrics.parquet + .tsv) and its summary figure.


def metric_inputs():
    inputs = []
    if STUDY.get("enabled", False):
        inputs += [f"{CT}/runs/{name}/metrics.parquet" for name in STUDY["experiments"]]
        inputs += [f"{CT}/runs/{name}/umap/metrics.parquet" for name in umap_experiments()]
        inputs += [
            f"{CT}/pretrain/{name}/metrics.parquet"
            for name, spec in STUDY["backbones"].items()
            if not spec["checkpoint"]
            and any(e["backbone"] == name and e["init"] != "random" for e in STUDY["experiments"].values())
        ]
    return inputs


rule collect_metrics:
    input:
        metric_inputs(),
    output:
        parquet=f"{RESULTS}/tables/metrics.parquet",
        tsv=f"{RESULTS}/tables/metrics.tsv",
        figure=report(f"{RESULTS}/plots/metrics_summary.png", caption="../report/metrics_summary.rst", category="Results"),
    log:
        f"{RESULTS}/logs/collect_metrics.log",
    conda:
        "../../envs/train.yaml"
    shell:
        "{GENOLM} collect-metrics {input:q} --out {output.parquet:q} --tsv {output.tsv:q} --plot {output.figure:q} > {log:q} 2>&1"
