# Benchmarks (issue #24, docs/studies/benchmarks.md): every configured backbone and baseline on every configured
# benchmark task under one protocol, one leaderboard. Its Python home is src/genolm/studies/benchmarks.
#
#   prepare_benchmark (shared) -> benchmarks_shards (per task and run: seed's validation fraction, or fold)
#     -> benchmarks_train (per task, model, learning rate or "fixed", run)
#     -> benchmarks_leaderboard (lr chosen on validation; test mean, sd, t interval, rank; published numbers; heat map)

include: "benchmarks/common.smk"


if BM_STUDY["enabled"]:
    METRIC_TABLES["benchmarks"] = bm_metric_tables()
    REPORT_TABLES["benchmarks"] = {"leaderboard": f"{RESULTS}/tables/benchmarks/leaderboard.md"}
    FINAL_OUTPUTS["benchmarks"] = bm_metric_tables() + [f"{RESULTS}/tables/benchmarks/leaderboard.tsv",
                                   f"{RESULTS}/tables/benchmarks/leaderboard.md",
                                   f"{RESULTS}/plots/benchmarks/leaderboard.png"]


rule benchmarks:
    """`make benchmarks`: this study alone, with its own slice of the results table."""
    input:
        study_outputs("benchmarks"),


rule benchmarks_shards:
    input:
        table=f"{RES}/benchmarks/{{task}}.parquet",
    output:
        shards=directory(f"{BM}/shards/{{task}}/{{run}}"),
        qc=f"{BM}/qc/shards_{{task}}_{{run}}.tsv",
    wildcard_constraints:
        run=r"seed\d+|fold\d+",
    params:
        split=bm_shard_options,
        length=lambda wc: BM_STUDY["tasks"][wc.task]["length"],
    log:
        f"{BM}/logs/shards_{{task}}_{{run}}.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm benchmark-shards --table {input.table:q} {params.split} --max-length {params.length}"
        " --out {output.shards:q} --qc {output.qc:q} > {log:q} 2>&1"


register_training_rule("benchmarks_train", "benchmarks",
                       lambda wc: bm_jobs.job_name(wc.task, wc.model, wc.setting, wc.run))


use rule genolm_train as benchmarks_train with:
    input:
        shards=f"{BM}/shards/{{task}}/{{run}}",
    output:
        metrics=f"{BM}/runs/{{task}}/{{model}}/{{setting}}/{{run}}/metrics.parquet",
    wildcard_constraints:
        run=r"seed\d+|fold\d+",
        setting=r"lr[0-9.e+-]+|fixed",
    params:
        seed=lambda wc: bm_specs.run_seed(wc.run, SEEDS),
        job_dir=lambda wc: bm_run_dir(wc.task, wc.model, wc.setting, wc.run),
        plots=lambda wc: f"{RESULTS}/plots/benchmarks/{wc.task}/{wc.model}/{wc.setting}/{wc.run}",
        spec=bm_train_spec,
        study="benchmarks",
        task=lambda wc: wc.task,
        experiment=lambda wc: bm_specs.experiment(wc.task, wc.model, wc.setting),
        options=lambda wc: " ".join(filter(None, [bm_fold_argument(wc), shlex.join(
            ["--model-name", wc.model, "--tokenizer-name", bm_specs.tokenizer_name(BM_STUDY, wc.model)])])),
        tracking=lambda wc: tracking_args("benchmarks_train", pretrain_seed=None, split_seed=bm_split_seed(wc.run),
                                          task=wc.task, model=wc.model,
                                          setting=wc.setting, run=wc.run),
    log:
        f"{BM}/logs/train_{{task}}_{{model}}_{{setting}}_{{run}}.log",
    threads: BM_THREADS


rule benchmarks_leaderboard:
    """One row per task and model: the learning rate chosen on validation, the test metric's mean, sd, t interval
    over replicates and rank (overlapping intervals tie), the published numbers beside them, and a heat map."""
    input:
        bm_metric_tables(),
    output:
        tsv=f"{RESULTS}/tables/benchmarks/leaderboard.tsv",
        md=f"{RESULTS}/tables/benchmarks/leaderboard.md",
        plot=report(f"{RESULTS}/plots/benchmarks/leaderboard.png", caption="../../report/benchmarks_leaderboard.rst",
                    category="benchmarks", subcategory="figures"),
    params:
        tasks=lambda wc: shlex.quote(canonical_json(bm_leaderboard_tasks())),
    log:
        f"{BM}/logs/leaderboard.log",
    conda:
        "../../../envs/train.yaml"
    shell:
        "python -m genolm benchmarks-leaderboard {input:q} --tasks {params.tasks} --out-tsv {output.tsv:q}"
        " --out-md {output.md:q} --plot {output.plot:q} > {log:q} 2>&1"
