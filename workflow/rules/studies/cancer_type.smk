# Study 1: HyenaDNA cancer-type classification from GRCh38 windows carrying a cell line's somatic mutations.
# Its Python home is src/genolm/studies/cancer_type (selection, specs, embeddings, UMAP analysis).
#
#   select_cell_lines -> mutate_windows (one shard set per context length) -> finetune (per experiment and seed)
#   pretraining_windows -> pretrain (per backbone, unless a released checkpoint is configured)
#   finetune -> embed -> plot_umap (UMAP grids backed by kNN accuracy across cell lines; first seed)

include: "cancer_type/common.smk"


if STUDY["enabled"]:
    REFERENCE_FILES[STUDY["reference_source"]] = STUDY["reference_file"]
    MUTATION_SETS[STUDY["mutations_source"]] = {
        "mutations": STUDY["mutations_file"], "samples": STUDY["samples_file"], "format": STUDY["mutation_format"],
        "reference_source": STUDY["reference_source"], "chromosomes": STUDY["chromosomes"],
        "max_ref_mismatch_fraction": STUDY["max_ref_mismatch_fraction"],
    }
    ct_runs = [f"{ct_job_dir(name, seed)}/metrics.parquet" for name in STUDY["experiments"] for seed in SEEDS]
    ct_umaps = [f"{CT}/runs/{name}/seed{SEEDS[0]}/umap/metrics.parquet" for name in ct_umap_experiments()]
    ct_pretraining = [f"{CT}/pretrain/{name}/metrics.parquet" for name in ct_pretrained_backbones()]
    METRIC_TABLES["cancer_type"] = ct_runs + ct_umaps + ct_pretraining
    REPORT_TABLES["cancer_type"] = {"summary": f"{RESULTS}/tables/cancer_type/summary.md"}
    FINAL_OUTPUTS["cancer_type"] = ct_runs + ct_umaps + [f"{RESULTS}/tables/cancer_type/summary.md"] + [
        f"{RESULTS}/plots/cancer_type/{name}/seed{SEEDS[0]}/umap_{c}.png"
        for name in ct_umap_experiments()
        for c in ("chromosome", "position_bin", "cancer_type")
    ]
    FINAL_OUTPUTS["cancer_type"] += [f"{CT}/qc/interval_overlaps_L{length}.tsv" for length in ct_context_lengths()]
    if STUDY["comparisons"]:
        REPORT_TABLES["cancer_type"]["comparisons"] = f"{RESULTS}/tables/cancer_type/comparisons.md"
        FINAL_OUTPUTS["cancer_type"] += comparison_outputs("cancer_type")


rule cancer_type:
    """`make cancer_type`: this study alone, with its own slice of the results table."""
    input:
        study_outputs("cancer_type"),


rule cancer_type_summary:
    input:
        f"{RESULTS}/tables/cancer_type/metrics.parquet",
    output:
        tsv=f"{RESULTS}/tables/cancer_type/summary.tsv",
        md=f"{RESULTS}/tables/cancer_type/summary.md",
    log:
        f"{CT}/logs/cancer_type_summary.log",
    conda:
        "../../../envs/train.yaml"
    shell:
        "python -m genolm cancer-type-summary --metrics {input:q} --out-tsv {output.tsv:q} --out-md {output.md:q} > {log:q} 2>&1"


rule cancer_type_comparisons:
    """The study's pre-registered comparisons (config `comparisons`) over its seeds, the unit a test cell line."""
    input:
        comparison_inputs(STUDY["comparisons"], ct_job_dir),
    output:
        tsv=f"{RESULTS}/tables/cancer_type/comparisons.tsv",
        md=f"{RESULTS}/tables/cancer_type/comparisons.md",
        plot=report(f"{RESULTS}/plots/cancer_type/comparisons.png", caption="../../report/comparisons.rst",
                    category="cancer_type", subcategory="figures"),
    params:
        comparisons=canonical_json(STUDY["comparisons"]),
        runs=comparison_runs(STUDY["comparisons"], ct_job_dir, ct_experiment_pretrain_seed),
    log:
        f"{CT}/logs/cancer_type_comparisons.log",
    conda:
        "../../../envs/train.yaml"
    shell:
        "python -m genolm compare --comparisons {params.comparisons:q} {params.runs} --out-tsv {output.tsv:q}"
        " --out-md {output.md:q} --plot {output.plot:q} --title cancer_type > {log:q} 2>&1"


rule cancer_type_interval_overlaps:
    """Leak check: test windows overlapping a training window of their own label on the reference (the windows of
    one cell line's anchor neighbourhood share most of their bases whatever the split)."""
    input:
        f"{CT}/shards/mutated_L{{length}}",
    output:
        qc=f"{CT}/qc/interval_overlaps_L{{length}}.tsv",
    params:
        max_fraction=STUDY["leak_check"]["max_interval_overlap"],
    log:
        f"{CT}/logs/interval_overlaps_L{{length}}.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm interval-overlaps --shards {input:q} --max-fraction {params.max_fraction}"
        " --qc {output.qc:q} > {log:q} 2>&1"


rule select_cell_lines:
    input:
        mutations=ct_mutations(),
        samples=ct_samples(),
    output:
        cell_lines=f"{CT}/selection/cell_lines.parquet",
        anchors=f"{CT}/selection/anchors.parquet",
        qc=f"{CT}/selection/qc.tsv",
    params:
        seed=SEED,
        lineages=shlex.join(STUDY["lineages"]),
        split=split_arg(STUDY["split"]),
        cap=f"--max-anchors-per-cell-line {STUDY['max_anchors_per_cell_line']}" if STUDY["max_anchors_per_cell_line"] else "",
        balance="" if STUDY["balance_classes"] else "--no-class-balance",
    log:
        f"{CT}/logs/select_cell_lines.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm select-cell-lines --mutations {input.mutations:q} --samples {input.samples:q}"
        " --lineages {params.lineages} --split {params.split} --seed {params.seed} {params.cap} {params.balance}"
        " --out-cell-lines {output.cell_lines:q} --out-anchors {output.anchors:q} --qc {output.qc:q} > {log:q} 2>&1"


rule mutate_windows:
    input:
        reference=ct_reference(),
        mutations=ct_mutations(),
        anchors=f"{CT}/selection/anchors.parquet",
    output:
        shards=directory(f"{CT}/shards/mutated_L{{length}}"),
        qc=f"{CT}/qc/mutate_windows_L{{length}}.tsv",
    params:
        seed=SEED,
    log:
        f"{CT}/logs/mutate_windows_L{{length}}.log",
    resources:
        mem_mb=8000,
        runtime=120,
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm mutate-windows --reference {input.reference:q} --mutations {input.mutations:q} --format parquet"
        " --anchors {input.anchors:q} --chromosomes all --length {wildcards.length} --seed {params.seed}"
        " --out {output.shards:q} --qc {output.qc:q} > {log:q} 2>&1"


rule pretraining_windows:
    input:
        reference=ct_reference(),
    output:
        shards=directory(f"{CT}/shards/pretrain_{{backbone}}"),
        qc=f"{CT}/qc/pretraining_windows_{{backbone}}.tsv",
    params:
        seed=SEED,
        length=lambda wc: STUDY["backbones"][wc.backbone]["context_length"],
        windows=lambda wc: STUDY["backbones"][wc.backbone]["pretraining"]["windows"],
        chromosomes=chromosome_arg(STUDY["chromosomes"]),
        val=lambda wc: (
            "--split-by-chromosome val=" + ",".join(STUDY["backbones"][wc.backbone]["pretraining"]["val_chromosomes"])
            if STUDY["backbones"][wc.backbone]["pretraining"]["val_chromosomes"]
            else ""
        ),
    log:
        f"{CT}/logs/pretraining_windows_{{backbone}}.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm reference-windows --reference {input.reference:q} --chromosomes {params.chromosomes}"
        " --length {params.length} --max-windows {params.windows} --seed {params.seed} {params.val}"
        " --out {output.shards:q} --qc {output.qc:q} > {log:q} 2>&1"


rule pretrain:
    input:
        shards=f"{CT}/shards/pretrain_{{backbone}}",
    output:
        weights=f"{CT}/pretrain/{{backbone}}/model/model.safetensors",
        metrics=f"{CT}/pretrain/{{backbone}}/metrics.parquet",
        curve=report(f"{RESULTS}/plots/cancer_type/pretrain_{{backbone}}/loss.png", caption="../../report/loss.rst",
                     category="cancer_type", subcategory="figures"),
    params:
        seed=SEED,
        job_dir=lambda wc: f"{CT}/pretrain/{wc.backbone}",
        plots=lambda wc: f"{RESULTS}/plots/cancer_type/pretrain_{wc.backbone}",
        spec=lambda wc: canonical_json(ct_specs.pretraining_spec(STUDY["backbones"][wc.backbone])),
        bases=lambda wc: STUDY["backbones"][wc.backbone]["context_length"],
        model=lambda wc: f"hyenadna-{STUDY['backbones'][wc.backbone]['preset']}",
        tracking=lambda wc: tracking_args("pretrain", backbone=wc.backbone),
    log:
        f"{CT}/logs/pretrain_{{backbone}}.log",
    threads: config["compute"]["training_cpus"]
    resources:
        **training_gpu_resources(),
        mem_mb=training_mem_mb(config["compute"]["training_mem_mb"]),
        runtime=config["compute"]["training_runtime_min"],
    retries: training_retries("cancer_type")
    conda:
        "../../../envs/train.yaml"
    shell:
        "exec python -m genolm train --spec {params.spec:q} --threads {threads} --shards {input.shards:q} --seed {params.seed}"
        " --context-bases {params.bases} --out {params.job_dir:q} --plots {params.plots:q} --study cancer_type --task pretraining"
        " --experiment pretrain-{wildcards.backbone} --model-name {params.model} {params.tracking} > {log:q} 2>&1"


rule finetune:
    input:
        shards=lambda wc: f"{CT}/shards/mutated_L{ct_experiment(wc)['context_length']}",
        backbone=ct_backbone_input,
    output:
        metrics=f"{CT}/runs/{{experiment}}/seed{{seed}}/metrics.parquet",
        predictions=f"{CT}/runs/{{experiment}}/seed{{seed}}/predictions.parquet",
        model=directory(f"{CT}/runs/{{experiment}}/seed{{seed}}/model"),
    wildcard_constraints:
        experiment=ct_experiment_pattern(oracle=False),
    params:
        job_dir=lambda wc: f"{CT}/runs/{wc.experiment}/seed{wc.seed}",
        plots=lambda wc: f"{RESULTS}/plots/cancer_type/{wc.experiment}/seed{wc.seed}",
        spec=ct_finetune_spec,
        bases=lambda wc: ct_experiment(wc)["context_length"],
        model=lambda wc: ct_specs.model_name(STUDY, wc.experiment),
        tracking=lambda wc: tracking_args("finetune", ct_pretrain_seed(wc), experiment=wc.experiment, seed=wc.seed),
    log:
        f"{CT}/logs/finetune_{{experiment}}_seed{{seed}}.log",
    threads: config["compute"]["training_cpus"]
    resources:
        **training_gpu_resources(),
        mem_mb=training_mem_mb(config["compute"]["training_mem_mb"]),
        runtime=config["compute"]["training_runtime_min"],
    retries: training_retries("cancer_type")
    conda:
        "../../../envs/train.yaml"
    shell:
        "exec python -m genolm train --spec {params.spec:q} --threads {threads} --shards {input.shards:q} --seed {wildcards.seed}"
        " --context-bases {params.bases} --out {params.job_dir:q} --plots {params.plots:q} --study cancer_type --task cancer_type_classification"
        " --experiment {wildcards.experiment} --model-name {params.model} {params.tracking} > {log:q} 2>&1"


rule oracle:
    input:
        shards=lambda wc: f"{CT}/shards/mutated_L{ct_experiment(wc)['context_length']}",
        reference=ct_reference(),
    output:
        metrics=f"{CT}/oracle/{{experiment}}/seed{{seed}}/metrics.parquet",
        predictions=f"{CT}/oracle/{{experiment}}/seed{{seed}}/predictions.parquet",
    wildcard_constraints:
        experiment=ct_experiment_pattern(oracle=True),
    params:
        job_dir=lambda wc: f"{CT}/oracle/{wc.experiment}/seed{wc.seed}",
        labels=shlex.join(STUDY["lineages"]),
        context=lambda wc: ct_experiment(wc)["context_length"],
        tracking=lambda wc: tracking_args("oracle", None, experiment=wc.experiment, seed=wc.seed),
    log:
        f"{CT}/logs/oracle_{{experiment}}_seed{{seed}}.log",
    conda:
        "../../../envs/train.yaml"
    shell:
        "python -m genolm cancer-type-oracle --shards {input.shards:q} --reference {input.reference:q}"
        " --label-names {params.labels} --context-length {params.context} --seed {wildcards.seed}"
        " --out {params.job_dir:q} --study cancer_type --task cancer_type_classification"
        " --experiment {wildcards.experiment} {params.tracking} > {log:q} 2>&1"


rule embedding_windows:
    input:
        reference=ct_reference(),
    output:
        shards=directory(f"{CT}/shards/reference_L{{length}}"),
        qc=f"{CT}/qc/embedding_windows_L{{length}}.tsv",
    params:
        seed=SEED,
        chromosomes=",".join(STUDY["umap"]["reference_chromosomes"]),
        windows=STUDY["umap"]["reference_windows"],
    log:
        f"{CT}/logs/embedding_windows_L{{length}}.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm reference-windows --reference {input.reference:q} --chromosomes {params.chromosomes}"
        " --length {wildcards.length} --max-windows {params.windows} --seed {params.seed} --default-split reference"
        " --out {output.shards:q} --qc {output.qc:q} > {log:q} 2>&1"


rule embed:
    input:
        model=f"{CT}/runs/{{experiment}}/seed{{seed}}/model",
        reference=ct_reference(),
        mutated=lambda wc: f"{CT}/shards/mutated_L{ct_experiment(wc)['context_length']}",
        reference_windows=lambda wc: f"{CT}/shards/reference_L{ct_experiment(wc)['context_length']}",
    output:
        f"{CT}/embeddings/{{experiment}}_seed{{seed}}.parquet",
    params:
        context=lambda wc: ct_specs.context_tokens(ct_experiment(wc)),
    log:
        f"{CT}/logs/embed_{{experiment}}_seed{{seed}}.log",
    threads: config["compute"]["training_cpus"]
    resources:
        **training_gpu_resources(),
        mem_mb=8000,
    conda:
        "../../../envs/train.yaml"
    shell:
        "python -m genolm embed --model {input.model:q} --reference {input.reference:q} --mutated-shards {input.mutated:q}"
        " --splits train test --context-length {params.context} --reference-shards {input.reference_windows:q} --out {output:q} > {log:q} 2>&1"


rule plot_umap:
    input:
        f"{CT}/embeddings/{{experiment}}_seed{{seed}}.parquet",
    output:
        plots=[
            report(f"{RESULTS}/plots/cancer_type/{{experiment}}/seed{{seed}}/umap_{c}.png",
                   caption=f"../../report/umap_{c}.rst", category="cancer_type", subcategory="figures")
            for c in ("chromosome", "position_bin", "cancer_type")
        ],
        metrics=f"{CT}/runs/{{experiment}}/seed{{seed}}/umap/metrics.parquet",
    params:
        plots=lambda wc: f"{RESULTS}/plots/cancer_type/{wc.experiment}/seed{wc.seed}",
        grid=shlex.join(
            ["--n-neighbors", *map(str, STUDY["umap"]["n_neighbors"]), "--min-dist", *map(str, STUDY["umap"]["min_dist"])]
        ),
        umap=shlex.join(
            ["--position-bins", str(STUDY["umap"]["position_bins"]), "--highlight-bins", str(STUDY["umap"]["highlight_bins"]),
             "--knn-k", str(STUDY["umap"]["knn_k"])]
        ),
        context=lambda wc: shlex.join(
            ["--context-length", str(ct_experiment(wc)["context_length"]), "--init", ct_experiment(wc)["init"],
             "--model-name", ct_specs.model_name(STUDY, wc.experiment)]
        ),
        tracking=lambda wc: tracking_args("plot_umap", ct_pretrain_seed(wc), experiment=wc.experiment, seed=wc.seed),
    log:
        f"{CT}/logs/plot_umap_{{experiment}}_seed{{seed}}.log",
    conda:
        "../../../envs/train.yaml"
    shell:
        "python -m genolm plot-umap --embeddings {input:q} {params.grid} {params.umap} {params.context} --seed {wildcards.seed}"
        " --plots {params.plots:q} --out {output.metrics:q} --study cancer_type --task embedding_structure"
        " --experiment {wildcards.experiment} {params.tracking} > {log:q} 2>&1"
