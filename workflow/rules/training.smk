# The one training rule. Every training job of every study is this rule under the study's name:
#
#   use rule genolm_train as <study>_<stage> with:
#       input: shards=..., (whatever else the job waits for)
#       output: metrics=..., (whatever else it declares)
#       params: spec=..., seed=..., job_dir=..., plots=..., study=..., task=..., experiment=..., (options=...)
#       log: ...
#
# and registers how its wildcards name the job among its study's training jobs (register_training_rule in
# common.smk; the study's `jobs.py`), from which genolm.compute.job_resources gives the scheduler request: GPUs per
# node = the spec's devices, nodes = num_nodes, one task per GPU (the process layout Lightning expects under SLURM),
# CPUs, memory, runtime and the resource class's partition (`compute.partitions`). So the command line, the
# resources and the environment of a training job are written once, here.


rule genolm_train:
    """The template (never planned itself: its output matches no file). Params a study leaves out keep these
    values; `options` holds the extra `genolm train` options of a stage (--context-bases, --fold, names)."""
    input:
        shards=[],
    output:
        metrics=f"{RESULTS}/.training_template/{{training_template}}/metrics.parquet",
    wildcard_constraints:
        training_template="(?!x)x",  # a constraint no name matches: the template alone plans nothing
    params:
        options="",
        tracking="",
    log:
        f"{RESULTS}/.training_template/{{training_template}}.log",
    threads: config["compute"]["training_cpus"]
    resources:
        **training_resources(),
    retries: training_retries()
    conda:
        str(Path(workflow.basedir) / "envs" / "train.yaml")
    shell:
        "exec python -m genolm train --spec {params.spec:q} --threads {threads} --shards {input.shards:q} --seed {params.seed}"
        " --out {params.job_dir:q} --plots {params.plots:q} --study {params.study} --task {params.task}"
        " --experiment {params.experiment:q} {params.options} {params.tracking} > {log:q} 2>&1"
