# Study 1: HyenaDNA cancer-type classification from GRCh38 windows carrying a cell line's somatic mutations.
# Its Python home is src/genolm/studies/cancer_type (selection, specs, embeddings, UMAP analysis).
#
#   select_cell_lines (per split seed; and the chromosome-held-out control) -> mutate_windows (per selection, context
#   length, mutated or reference-only windows) -> finetune (per experiment and replicate seed)
#   pretraining_windows -> pretrain (per backbone and pretraining seed, unless a released checkpoint is configured)
#   finetune -> embed -> plot_umap (UMAP grids backed by kNN accuracy across cell lines; first seed), and
#   pretrained backbone -> embed_pretrained -> plot_umap (umap.backbones: no fine-tuning, as the thesis' figures)
# A replicate seed<N> draws its split and its pretraining with N where the study's `replicate` block says so
# (genolm.replicates); otherwise with the shared `seed`.

include: "cancer_type/common.smk"


if CT_STUDY["enabled"]:
    REFERENCE_FILES[CT_STUDY["reference_source"]] = CT_STUDY["reference_file"]
    MUTATION_SETS[CT_STUDY["mutations_source"]] = {
        "mutations": CT_STUDY["mutations_file"], "samples": CT_STUDY["samples_file"], "format": CT_STUDY["mutation_format"],
        "reference_source": CT_STUDY["reference_source"], "chromosomes": CT_STUDY["chromosomes"],
        "max_ref_mismatch_fraction": CT_STUDY["max_ref_mismatch_fraction"],
    }
    ct_runs = [f"{ct_job_dir(name, seed)}/metrics.parquet" for name in CT_STUDY["experiments"] for seed in SEEDS]
    ct_umaps = [f"{CT}/runs/{name}/seed{SEEDS[0]}/umap/metrics.parquet" for name in ct_umap_arms()]
    ct_pretraining = [f"{CT}/pretrain/{name}/seed{seed}/metrics.parquet" for name in ct_pretrained_backbones()
                      for seed in pretrain_seeds(config, CT_STUDY)]
    METRIC_TABLES["cancer_type"] = ct_runs + ct_umaps + ct_pretraining
    REPORT_TABLES["cancer_type"] = {"summary": f"{RESULTS}/tables/cancer_type/summary.md"}
    FINAL_OUTPUTS["cancer_type"] = ct_runs + ct_umaps + [f"{RESULTS}/tables/cancer_type/summary.md"] + [
        f"{RESULTS}/plots/cancer_type/{name}/seed{SEEDS[0]}/umap_{c}.png"
        for name in ct_umap_arms()
        for c in ("chromosome", "position_bin", "cancer_type")
    ]
    FINAL_OUTPUTS["cancer_type"] += ct_interval_overlap_checks()
    if CT_STUDY["comparisons"]:
        REPORT_TABLES["cancer_type"]["comparisons"] = f"{RESULTS}/tables/cancer_type/comparisons.md"
        FINAL_OUTPUTS["cancer_type"] += comparison_outputs("cancer_type")

include: "cancer_type/variants.smk"


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
        comparison_inputs(CT_STUDY["comparisons"], ct_job_dir),
    output:
        tsv=f"{RESULTS}/tables/cancer_type/comparisons.tsv",
        md=f"{RESULTS}/tables/cancer_type/comparisons.md",
        plot=report(f"{RESULTS}/plots/cancer_type/comparisons.png", caption="../../report/comparisons.rst",
                    category="cancer_type", subcategory="figures"),
    params:
        comparisons=canonical_json(CT_STUDY["comparisons"]),
        runs=comparison_runs(CT_STUDY["comparisons"], ct_job_dir, ct_experiment_pretrain_seed, CT_STUDY),
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
        f"{CT}/shards/{{selection}}/mutated_L{{length}}",
    output:
        qc=f"{CT}/qc/{{selection}}/mutated_L{{length}}/interval_overlaps.tsv",
    wildcard_constraints:
        selection=r"split\d+(_chromosomes)?",
    params:
        max_fraction=CT_STUDY["leak_check"]["max_interval_overlap"],
    log:
        f"{CT}/logs/interval_overlaps_{{selection}}_L{{length}}.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm interval-overlaps --shards {input:q} --max-fraction {params.max_fraction}"
        " --qc {output.qc:q} > {log:q} 2>&1"


rule cancer_type_select_cell_lines:
    input:
        mutations=ct_mutations(),
        samples=ct_samples(),
    output:
        cell_lines=f"{CT}/selection/split{{split_seed}}{{design}}/cell_lines.parquet",
        anchors=f"{CT}/selection/split{{split_seed}}{{design}}/anchors.parquet",
        qc=f"{CT}/selection/split{{split_seed}}{{design}}/qc.tsv",
    wildcard_constraints:
        split_seed=r"\d+",
        design="|_chromosomes",
    params:
        lineages=shlex.join(CT_STUDY["lineages"]),
        held_out=lambda wc: shlex.join(["--hold-out-chromosomes"] + [
            f"{split}={','.join(chromosomes)}" for split, chromosomes in sorted(CT_STUDY["held_out_chromosomes"].items())
        ]) if wc.design else "",
        split=split_arg(CT_STUDY["split"]),
        cap=f"--max-anchors-per-cell-line {CT_STUDY['max_anchors_per_cell_line']}" if CT_STUDY["max_anchors_per_cell_line"] else "",
        balance="" if CT_STUDY["balance_classes"] else "--no-class-balance",
    log:
        f"{CT}/logs/select_cell_lines_split{{split_seed}}{{design}}.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm select-cell-lines --mutations {input.mutations:q} --samples {input.samples:q}"
        " --lineages {params.lineages} --split {params.split} --seed {wildcards.split_seed} {params.cap} {params.balance}"
        " {params.held_out}"
        " --out-cell-lines {output.cell_lines:q} --out-anchors {output.anchors:q} --qc {output.qc:q} > {log:q} 2>&1"


rule cancer_type_mutate_windows:
    input:
        reference=ct_reference(),
        mutations=ct_mutations(),
        anchors=f"{CT}/selection/{{selection}}/anchors.parquet",
    output:
        shards=directory(f"{CT}/shards/{{selection}}/{{windows}}_L{{length}}"),
        qc=f"{CT}/qc/{{selection}}/mutate_windows_{{windows}}_L{{length}}.tsv",
    wildcard_constraints:
        selection=r"split\d+(_chromosomes)?",
        windows="mutated|reference_only",
    params:
        # the windows' placement is part of the split the replicate draws
        seed=lambda wc: re.match(r"split(\d+)", wc.selection)[1],
        reference_only=lambda wc: "--reference-only" if wc.windows == "reference_only" else "",
    log:
        f"{CT}/logs/mutate_windows_{{selection}}_{{windows}}_L{{length}}.log",
    resources:
        mem_mb=8000,
        runtime=120,
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm mutate-windows --reference {input.reference:q} --mutations {input.mutations:q} --format parquet"
        " --anchors {input.anchors:q} --chromosomes all --length {wildcards.length} --seed {params.seed}"
        " {params.reference_only} --out {output.shards:q} --qc {output.qc:q} > {log:q} 2>&1"


rule cancer_type_pretraining_windows:
    input:
        reference=ct_reference(),
    output:
        shards=directory(f"{CT}/shards/pretrain_{{backbone}}_seed{{pretrain_seed}}"),
        qc=f"{CT}/qc/pretraining_windows_{{backbone}}_seed{{pretrain_seed}}.tsv",
    params:
        length=lambda wc: CT_STUDY["backbones"][wc.backbone]["context_length"],
        windows=lambda wc: CT_STUDY["backbones"][wc.backbone]["pretraining"]["windows"],
        chromosomes=chromosome_arg(CT_STUDY["chromosomes"]),
        val=lambda wc: (
            "--split-by-chromosome val=" + ",".join(CT_STUDY["backbones"][wc.backbone]["pretraining"]["val_chromosomes"])
            if CT_STUDY["backbones"][wc.backbone]["pretraining"]["val_chromosomes"]
            else ""
        ),
    log:
        f"{CT}/logs/pretraining_windows_{{backbone}}_seed{{pretrain_seed}}.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm reference-windows --reference {input.reference:q} --chromosomes {params.chromosomes}"
        " --length {params.length} --max-windows {params.windows} --seed {wildcards.pretrain_seed} {params.val}"
        " --out {output.shards:q} --qc {output.qc:q} > {log:q} 2>&1"


register_training_rule("cancer_type_pretrain", "cancer_type", lambda wc: f"pretrain/{wc.backbone}/seed{wc.pretrain_seed}")


use rule genolm_train as cancer_type_pretrain with:
    input:
        shards=f"{CT}/shards/pretrain_{{backbone}}_seed{{pretrain_seed}}",
    output:
        weights=f"{CT}/pretrain/{{backbone}}/seed{{pretrain_seed}}/model/model.safetensors",
        metrics=f"{CT}/pretrain/{{backbone}}/seed{{pretrain_seed}}/metrics.parquet",
        curve=report(f"{RESULTS}/plots/cancer_type/pretrain_{{backbone}}/seed{{pretrain_seed}}/loss.png",
                     caption="../../report/loss.rst", category="cancer_type", subcategory="figures"),
    params:
        job_dir=lambda wc: f"{CT}/pretrain/{wc.backbone}/seed{wc.pretrain_seed}",
        plots=lambda wc: f"{RESULTS}/plots/cancer_type/pretrain_{wc.backbone}/seed{wc.pretrain_seed}",
        spec=lambda wc: canonical_json(ct_specs.pretraining_spec(CT_STUDY["backbones"][wc.backbone])),
        seed=lambda wc: wc.pretrain_seed,
        study="cancer_type",
        task="pretraining",
        experiment=lambda wc: f"pretrain-{wc.backbone}",
        options=lambda wc: shlex.join(["--context-bases", str(CT_STUDY["backbones"][wc.backbone]["context_length"]),
                                       "--model-name", ct_specs.backbone_model_name(CT_STUDY["backbones"][wc.backbone])]),
        # pretraining draws no split: its windows are the reference's, drawn with the pretraining seed
        tracking=lambda wc: tracking_args("cancer_type_pretrain", wc.pretrain_seed, backbone=wc.backbone),
    log:
        f"{CT}/logs/pretrain_{{backbone}}_seed{{pretrain_seed}}.log",


register_training_rule("cancer_type_finetune", "cancer_type", lambda wc: f"runs/{wc.experiment}/seed{wc.seed}")


use rule genolm_train as cancer_type_finetune with:
    input:
        shards=lambda wc: ct_shards(wc.experiment, wc.seed),
        backbone=ct_backbone_input,
    output:
        metrics=f"{CT}/runs/{{experiment}}/seed{{seed}}/metrics.parquet",
        predictions=f"{CT}/runs/{{experiment}}/seed{{seed}}/predictions.parquet",
        model=directory(f"{CT}/runs/{{experiment}}/seed{{seed}}/model"),
    wildcard_constraints:
        experiment=ct_experiment_pattern(oracle=False),
    params:
        seed=lambda wc: wc.seed,
        job_dir=lambda wc: f"{CT}/runs/{wc.experiment}/seed{wc.seed}",
        plots=lambda wc: f"{RESULTS}/plots/cancer_type/{wc.experiment}/seed{wc.seed}",
        spec=ct_finetune_spec,
        study="cancer_type",
        task="cancer_type_classification",
        experiment=lambda wc: wc.experiment,
        options=lambda wc: shlex.join(["--context-bases", str(ct_experiment(wc)["context_length"]),
                                       "--model-name", ct_specs.model_name(CT_STUDY, wc.experiment)]),
        tracking=lambda wc: tracking_args("cancer_type_finetune", ct_pretrain_seed(wc), ct_replicate(wc.seed).split_seed,
                                          experiment=wc.experiment, seed=wc.seed),
    log:
        f"{CT}/logs/finetune_{{experiment}}_seed{{seed}}.log",


rule cancer_type_oracle:
    input:
        shards=lambda wc: ct_shards(wc.experiment, wc.seed),
        reference=ct_reference(),
    output:
        metrics=f"{CT}/oracle/{{experiment}}/seed{{seed}}/metrics.parquet",
        predictions=f"{CT}/oracle/{{experiment}}/seed{{seed}}/predictions.parquet",
    wildcard_constraints:
        experiment=ct_experiment_pattern(oracle=True),
    params:
        job_dir=lambda wc: f"{CT}/oracle/{wc.experiment}/seed{wc.seed}",
        labels=shlex.join(CT_STUDY["lineages"]),
        context=lambda wc: ct_experiment(wc)["context_length"],
        tracking=lambda wc: tracking_args("cancer_type_oracle", None, ct_replicate(wc.seed).split_seed,
                                          experiment=wc.experiment, seed=wc.seed),
    log:
        f"{CT}/logs/oracle_{{experiment}}_seed{{seed}}.log",
    conda:
        "../../../envs/train.yaml"
    shell:
        "python -m genolm cancer-type-oracle --shards {input.shards:q} --reference {input.reference:q}"
        " --label-names {params.labels} --context-length {params.context} --seed {wildcards.seed}"
        " --out {params.job_dir:q} --study cancer_type --task cancer_type_classification"
        " --experiment {wildcards.experiment} {params.tracking} > {log:q} 2>&1"


rule cancer_type_embedding_windows:
    input:
        reference=ct_reference(),
    output:
        shards=directory(f"{CT}/shards/reference_L{{length}}"),
        qc=f"{CT}/qc/embedding_windows_L{{length}}.tsv",
    params:
        seed=SEED,
        chromosomes=",".join(CT_STUDY["umap"]["reference_chromosomes"]),
        windows=CT_STUDY["umap"]["reference_windows"],
    log:
        f"{CT}/logs/embedding_windows_L{{length}}.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm reference-windows --reference {input.reference:q} --chromosomes {params.chromosomes}"
        " --length {wildcards.length} --max-windows {params.windows} --seed {params.seed} --default-split reference"
        " --out {output.shards:q} --qc {output.qc:q} > {log:q} 2>&1"


rule cancer_type_embed:
    """Embeddings from a fine-tuned experiment's model (its head's pooling)."""
    input:
        model=f"{CT}/runs/{{experiment}}/seed{{seed}}/model",
        reference=ct_reference(),
        mutated=lambda wc: ct_shards(wc.experiment, wc.seed),
        reference_windows=lambda wc: f"{CT}/shards/reference_L{ct_experiment(wc)['context_length']}",
    output:
        f"{CT}/embeddings/{{experiment}}_seed{{seed}}.parquet",
    wildcard_constraints:
        experiment=ct_experiment_pattern(oracle=False),
    params:
        context=lambda wc: ct_specs.context_tokens(ct_experiment(wc)),
        batch_size=CT_STUDY["umap"]["batch_size"],
    log:
        f"{CT}/logs/embed_{{experiment}}_seed{{seed}}.log",
    threads: config["compute"]["training_cpus"]
    resources:
        **accelerator_resources(),
        mem_mb=8000,
    conda:
        "../../../envs/train.yaml"
    shell:
        "python -m genolm embed --model {input.model:q} --reference {input.reference:q} --mutated-shards {input.mutated:q}"
        " --splits train test --context-length {params.context} --reference-shards {input.reference_windows:q}"
        " --batch-size {params.batch_size} --out {output:q} > {log:q} 2>&1"


rule cancer_type_embed_pretrained:
    """Embeddings from a backbone's pretrained weights (umap.backbones), at its context length, on the first
    replicate's mutated windows: the thesis' Figures 4.1-4.4 (pretrained 450K HyenaDNA, no fine-tuning)."""
    input:
        model=lambda wc: ct_backbone_files(wc.backbone, wc.seed),
        reference=ct_reference(),
        mutated=lambda wc: f"{CT}/shards/split{ct_replicate(wc.seed).split_seed}/mutated_L{CT_STUDY['backbones'][wc.backbone]['context_length']}",
        reference_windows=lambda wc: f"{CT}/shards/reference_L{CT_STUDY['backbones'][wc.backbone]['context_length']}",
    output:
        f"{CT}/embeddings/pretrained-{{backbone}}_seed{{seed}}.parquet",
    wildcard_constraints:
        backbone="|".join(re.escape(n) for n in CT_STUDY["umap"]["backbones"]) or "(?!)",
    params:
        model=lambda wc: ct_backbone_dir(wc.backbone, ct_replicate(wc.seed).pretrain_seed),
        context=lambda wc: ct_specs.context_tokens(CT_STUDY["backbones"][wc.backbone]),
        labels=shlex.join(CT_STUDY["lineages"]),
        batch_size=CT_STUDY["umap"]["batch_size"],
    log:
        f"{CT}/logs/embed_pretrained-{{backbone}}_seed{{seed}}.log",
    threads: config["compute"]["training_cpus"]
    resources:
        **accelerator_resources(),
        mem_mb=8000,
    conda:
        "../../../envs/train.yaml"
    shell:
        "python -m genolm embed --model {params.model:q} --reference {input.reference:q} --mutated-shards {input.mutated:q}"
        " --splits train test --context-length {params.context} --label-names {params.labels}"
        " --reference-shards {input.reference_windows:q} --batch-size {params.batch_size} --out {output:q} > {log:q} 2>&1"


rule cancer_type_plot_umap:
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
            ["--n-neighbors", *map(str, CT_STUDY["umap"]["n_neighbors"]), "--min-dist", *map(str, CT_STUDY["umap"]["min_dist"])]
        ),
        umap=shlex.join(
            ["--position-bins", str(CT_STUDY["umap"]["position_bins"]), "--highlight-bins", str(CT_STUDY["umap"]["highlight_bins"]),
             "--knn-k", str(CT_STUDY["umap"]["knn_k"])]
        ),
        context=lambda wc: shlex.join(
            ["--context-length", str(ct_umap_context(wc.experiment)[0]), "--init", ct_umap_context(wc.experiment)[1],
             "--model-name", ct_umap_context(wc.experiment)[2]]
        ),
        tracking=lambda wc: tracking_args("cancer_type_plot_umap", ct_umap_pretrain_seed(wc.experiment, wc.seed),
                                          ct_replicate(wc.seed).split_seed,
                                          experiment=wc.experiment, seed=wc.seed),
    log:
        f"{CT}/logs/plot_umap_{{experiment}}_seed{{seed}}.log",
    conda:
        "../../../envs/train.yaml"
    shell:
        "python -m genolm plot-umap --embeddings {input:q} {params.grid} {params.umap} {params.context} --seed {wildcards.seed}"
        " --plots {params.plots:q} --out {output.metrics:q} --study cancer_type --task embedding_structure"
        " --experiment {wildcards.experiment} {params.tracking} > {log:q} 2>&1"
