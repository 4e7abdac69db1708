# Study 4: ENBED, the byte-level encoder-decoder (docs/studies/enbed.md). Its Python home is src/genolm/studies/enbed.
#
#   enbed_corpus (assemblies, N removed) -> enbed_pretrain (per architecture with pretrain: true)
#   enbed_corpus -> enbed_reconstruction -> enbed_reconstruction_pretrain (per mutation-generation architecture) -+
#   enbed_corpus -> enbed_noise ------------------------------+
#   enbed_annotation (Ensembl GTF + assembly) ----------------+
#   enbed_pairs (FASTA + parent/child/clade table) -----------+-> enbed_train (per task, experiment, seed or fold)
#   prepare_benchmark -> enbed_benchmark (val split or fold) -+          -> enbed_tables (paper layouts, figures)

include: "enbed/common.smk"


if EN_STUDY["enabled"]:
    for en_source in EN_STUDY["corpus"]["reference_sources"]:
        REFERENCE_FILES.setdefault(en_source, next(iter(config["sources"][en_source]["files"])))
    METRIC_TABLES["enbed"] = en_metric_tables()
    if EN_STUDY["paper_tables"]:
        REPORT_TABLES["enbed"] = {"paper_tables": f"{RESULTS}/tables/enbed/paper_tables.md",
                                  "paper_tables_summary": f"{RESULTS}/tables/enbed/paper_tables_summary.tsv"}
    FINAL_OUTPUTS["enbed"] = en_metric_tables() + (
        [*REPORT_TABLES["enbed"].values(), *(f"{RESULTS}/plots/enbed/{task}.png" for task in en_figure_tasks())]
        if EN_STUDY["paper_tables"] else [])
    if EN_STUDY["comparisons"]:
        REPORT_TABLES.setdefault("enbed", {})["comparisons"] = f"{RESULTS}/tables/enbed/comparisons.md"
        FINAL_OUTPUTS["enbed"] += comparison_outputs("enbed")


rule enbed:
    """`make enbed`: this study alone, with its own slice of the results table."""
    input:
        study_outputs("enbed"),


rule enbed_comparisons:
    """The study's pre-registered comparisons (config `comparisons`; arms are the results table's <task>/<experiment>,
    mutation generation for now) over its seeds; each test pair's unit is its parent (the pairs shards' sequence)."""
    input:
        runs=comparison_inputs(EN_STUDY["comparisons"], en_compared_job_dir),
        shards=f"{EN}/shards/pairs",
    output:
        tsv=f"{RESULTS}/tables/enbed/comparisons.tsv",
        md=f"{RESULTS}/tables/enbed/comparisons.md",
        plot=report(f"{RESULTS}/plots/enbed/comparisons.png", caption="../../report/comparisons.rst",
                    category="enbed", subcategory="figures"),
    params:
        comparisons=canonical_json(EN_STUDY["comparisons"]),
        runs=comparison_runs(EN_STUDY["comparisons"], en_compared_job_dir, lambda arm: SEED),
    log:
        f"{EN}/logs/enbed_comparisons.log",
    conda:
        "../../../envs/train.yaml"
    shell:
        "python -m genolm compare --comparisons {params.comparisons:q} {params.runs}"
        " --group-shards {input.shards:q} --group-column sequence --out-tsv {output.tsv:q}"
        " --out-md {output.md:q} --plot {output.plot:q} --title enbed > {log:q} 2>&1"


rule enbed_corpus:
    input:
        en_corpus_inputs(),
    output:
        shards=directory(f"{EN}/shards/corpus"),
        qc=f"{EN}/qc/corpus.tsv",
    params:
        seed=SEED,
        length=EN_STUDY["corpus"]["length"],
        max_windows=f"--max-windows {EN_STUDY['corpus']['max_windows']}" if EN_STUDY["corpus"]["max_windows"] else "",
        val=EN_STUDY["corpus"]["val_fraction"],
    log:
        f"{EN}/logs/corpus.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm enbed-corpus --genomes {input:q} --length {params.length} {params.max_windows}"
        " --val-fraction {params.val} --seed {params.seed} --out {output.shards:q} --qc {output.qc:q} > {log:q} 2>&1"


rule enbed_pretrain:
    input:
        shards=f"{EN}/shards/corpus",
    output:
        weights=f"{EN}/pretrain/{{architecture}}/model/model.safetensors",
        metrics=f"{EN}/pretrain/{{architecture}}/metrics.parquet",
    params:
        seed=SEED,
        job_dir=lambda wc: f"{EN}/pretrain/{wc.architecture}",
        plots=lambda wc: f"{RESULTS}/plots/enbed/pretrain_{wc.architecture}",
        spec=lambda wc: canonical_json(en_specs.pretraining_spec(EN_STUDY, wc.architecture)),
        tokenizer=lambda wc: EN_STUDY["architectures"][wc.architecture]["tokenizer"]["name"],
        tracking=lambda wc: tracking_args("enbed_pretrain", architecture=wc.architecture),
    log:
        f"{EN}/logs/pretrain_{{architecture}}.log",
    threads: EN_THREADS
    resources:
        **training_gpu_resources(),
        mem_mb=training_mem_mb(config["compute"]["training_mem_mb"]),
        runtime=config["compute"]["training_runtime_min"],
    retries: training_retries("enbed")
    conda:
        "../../../envs/train.yaml"
    shell:
        "exec python -m genolm train --spec {params.spec:q} --threads {threads} --shards {input.shards:q} --seed {params.seed}"
        " --out {params.job_dir:q} --plots {params.plots:q} --study enbed --task pretraining"
        " --experiment pretrain/{wildcards.architecture} --model-name {wildcards.architecture}"
        " --tokenizer-name {params.tokenizer} {params.tracking} > {log:q} 2>&1"


rule enbed_pairs:
    input:
        fasta=resolve_url(EN_STUDY["mutation_generation"]["fasta"] or "missing.fasta"),
        pairs=resolve_url(EN_STUDY["mutation_generation"]["pairs"] or "missing.tsv"),
    output:
        shards=directory(f"{EN}/shards/pairs"),
        qc=f"{EN}/qc/pairs.tsv",
    params:
        seed=SEED,
        region=("--region " + " ".join(map(str, EN_STUDY["mutation_generation"]["region"]))
                if EN_STUDY["mutation_generation"]["region"] else ""),
        similarity=EN_STUDY["mutation_generation"]["similarity"],
        val=EN_STUDY["mutation_generation"]["val_fraction"],
        test=EN_STUDY["mutation_generation"]["test_fraction"],
    log:
        f"{EN}/logs/pairs.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm enbed-pairs --fasta {input.fasta:q} --pairs {input.pairs:q} {params.region}"
        " --similarity {params.similarity} --val-fraction {params.val}"
        " --test-fraction {params.test} --seed {params.seed} --out {output.shards:q} --qc {output.qc:q} > {log:q} 2>&1"


rule enbed_reconstruction:
    input:
        corpus=f"{EN}/shards/corpus",
    output:
        shards=directory(f"{EN}/shards/reconstruction"),
        qc=f"{EN}/qc/reconstruction.tsv",
    params:
        seed=SEED,
        length=EN_STUDY["mutation_generation"]["length"],
        sizes=en_reconstruction_args(),
    log:
        f"{EN}/logs/reconstruction.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm enbed-reconstruction --corpus {input.corpus:q} --length {params.length}"
        " {params.sizes} --seed {params.seed} --out {output.shards:q} --qc {output.qc:q} > {log:q} 2>&1"


rule enbed_reconstruction_pretrain:
    input:
        shards=f"{EN}/shards/reconstruction",
    output:
        weights=f"{EN}/pretrain_reconstruction/{{architecture}}/model/model.safetensors",
        metrics=f"{EN}/pretrain_reconstruction/{{architecture}}/metrics.parquet",
    params:
        seed=SEED,
        job_dir=lambda wc: f"{EN}/pretrain_reconstruction/{wc.architecture}",
        plots=lambda wc: f"{RESULTS}/plots/enbed/pretrain_reconstruction_{wc.architecture}",
        spec=lambda wc: canonical_json(en_specs.reconstruction_spec(EN_STUDY, wc.architecture)),
        tokenizer=lambda wc: EN_STUDY["architectures"][wc.architecture]["tokenizer"]["name"],
        tracking=lambda wc: tracking_args("enbed_reconstruction_pretrain", architecture=wc.architecture),
    log:
        f"{EN}/logs/pretrain_reconstruction_{{architecture}}.log",
    threads: EN_THREADS
    resources:
        **training_gpu_resources(),
        mem_mb=training_mem_mb(config["compute"]["training_mem_mb"]),
        runtime=config["compute"]["training_runtime_min"],
    retries: training_retries("enbed")
    conda:
        "../../../envs/train.yaml"
    shell:
        "exec python -m genolm train --spec {params.spec:q} --threads {threads} --shards {input.shards:q} --seed {params.seed}"
        " --out {params.job_dir:q} --plots {params.plots:q} --study enbed --task pretraining"
        " --experiment pretrain_reconstruction/{wildcards.architecture} --model-name {wildcards.architecture}"
        " --tokenizer-name {params.tokenizer} {params.tracking} > {log:q} 2>&1"


rule enbed_noise:
    input:
        corpus=f"{EN}/shards/corpus",
    output:
        shards=directory(f"{EN}/shards/noise"),
        qc=f"{EN}/qc/noise.tsv",
    params:
        seed=SEED,
        sizes=en_noise_args(),
        model=shlex.quote(canonical_json(EN_STUDY["noise_identification"]["noise_model"])),
    log:
        f"{EN}/logs/noise.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm enbed-noise --corpus {input.corpus:q} {params.sizes} --model {params.model}"
        " --seed {params.seed} --out {output.shards:q} --qc {output.qc:q} > {log:q} 2>&1"


rule enbed_annotation:
    input:
        gtf=resolve_url(EN_STUDY["function_annotation"]["gtf"] or "missing.gtf"),
        assembly=resolve_url(EN_STUDY["function_annotation"]["assembly"] or "missing.fa"),
    output:
        shards=directory(f"{EN}/shards/annotation"),
        qc=f"{EN}/qc/annotation.tsv",
    params:
        seed=SEED,
        sizes=en_annotation_args(),
        classes=" ".join(EN_STUDY["function_annotation"]["classes"]),
        max_per_class=(f"--max-per-class {EN_STUDY['function_annotation']['max_per_class']}"
                       if EN_STUDY["function_annotation"]["max_per_class"] else ""),
    log:
        f"{EN}/logs/annotation.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm enbed-annotation --gtf {input.gtf:q} --assembly {input.assembly:q} --classes {params.classes}"
        " {params.sizes} {params.max_per_class}"
        " --seed {params.seed} --out {output.shards:q} --qc {output.qc:q} > {log:q} 2>&1"


rule enbed_benchmark:
    input:
        table=f"{RES}/benchmarks/{{task}}.parquet",
    output:
        shards=directory(f"{EN}/shards/benchmark/{{task}}/{{fold}}"),
        qc=f"{EN}/qc/benchmark_{{task}}_{{fold}}.tsv",
    wildcard_constraints:
        fold=r"val|fold\d+",
    params:
        seed=SEED,
        folds=lambda wc: (f"--folds {EN_STUDY['benchmarks'][wc.task]['folds']} --fold {wc.fold.removeprefix('fold')}"
                          if wc.fold != "val" else f"--val-fraction {EN_STUDY['benchmarks'][wc.task]['val_fraction']}"),
        length=lambda wc: EN_STUDY["benchmarks"][wc.task]["length"],
    log:
        f"{EN}/logs/benchmark_{{task}}_{{fold}}.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm enbed-benchmark --table {input.table:q} {params.folds} --max-length {params.length}"
        " --seed {params.seed} --out {output.shards:q} --qc {output.qc:q} > {log:q} 2>&1"


rule enbed_train:
    input:
        unpack(en_train_inputs),
    output:
        metrics=f"{EN}/runs/{{task}}/{{experiment}}/{{run}}/metrics.parquet",
    wildcard_constraints:
        run=r"seed\d+|fold\d+",
    params:
        job_dir=lambda wc: en_run_dir(wc.task, wc.experiment, wc.run),
        plots=lambda wc: f"{RESULTS}/plots/enbed/{wc.task}/{wc.experiment}/{wc.run}",
        spec=en_train_spec,
        seed=lambda wc: en_run_seed(wc.run),
        experiment=en_experiment_column,
        fold=en_fold_argument,
        model=lambda wc: en_specs.model_name(EN_STUDY, wc.task, wc.experiment),
        tokenizer=lambda wc: en_specs.tokenizer_name(EN_STUDY, wc.task, wc.experiment),
        tracking=lambda wc: tracking_args("enbed_train", task=wc.task, experiment=wc.experiment, run=wc.run),
    log:
        f"{EN}/logs/train_{{task}}_{{experiment}}_{{run}}.log",
    threads: EN_THREADS
    resources:
        **training_gpu_resources(),
        mem_mb=training_mem_mb(config["compute"]["training_mem_mb"]),
        runtime=config["compute"]["training_runtime_min"],
    retries: training_retries("enbed")
    conda:
        "../../../envs/train.yaml"
    shell:
        "exec python -m genolm train --spec {params.spec:q} --threads {threads} --shards {input.shards:q} --seed {params.seed}"
        " --out {params.job_dir:q} --plots {params.plots:q} --study enbed --task {wildcards.task}"
        " --experiment {params.experiment:q} {params.fold} --model-name {params.model} --tokenizer-name {params.tokenizer}"
        " {params.tracking} > {log:q} 2>&1"


rule enbed_tables:
    input:
        en_metric_tables(),
    output:
        tables=f"{RESULTS}/tables/enbed/paper_tables.md",
        summary=f"{RESULTS}/tables/enbed/paper_tables_summary.tsv",
        figures=[report(f"{RESULTS}/plots/enbed/{task}.png", caption="../../report/enbed_task.rst", category="enbed",
                        subcategory="figures") for task in en_figure_tasks()],
    params:
        plots=f"{RESULTS}/plots/enbed",
        out_dir=lambda wc, output: str(Path(output.tables).parent),
    log:
        f"{EN}/logs/tables.log",
    conda:
        "../../../envs/train.yaml"
    shell:
        "python -m genolm enbed-tables {input:q} --out-dir {params.out_dir:q} --plots {params.plots:q} > {log:q} 2>&1"
