# Study 1: HyenaDNA cancer-type classification from GRCh38 windows carrying a cell line's somatic mutations.
#
#   select_cell_lines -> mutate_windows (one shard set per context length) -> finetune (per experiment)
#   reference_windows -> pretrain (per backbone, unless a released checkpoint is configured)
#   finetune -> embed -> plot_umap (UMAP grids backed by kNN accuracy)

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
        lineages=shlex.join(STUDY.get("lineages", [])),
        split=shlex.join(f"{k}={v}" for k, v in STUDY.get("split", {}).items()),
        cap=f"--max-anchors-per-cell-line {STUDY['max_anchors_per_cell_line']}" if STUDY.get("max_anchors_per_cell_line") else "",
        balance="" if STUDY.get("balance_classes", True) else "--no-class-balance",
    log:
        f"{CT}/logs/select_cell_lines.log",
    conda:
        "../../envs/data.yaml"
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
        "../../envs/data.yaml"
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
        length=lambda wc: backbone_spec(wc.backbone)["context_length"],
        windows=lambda wc: backbone_spec(wc.backbone)["pretraining"]["windows"],
        chromosomes=shlex.quote(STUDY["chromosomes"] if isinstance(STUDY.get("chromosomes"), str) else ",".join(STUDY.get("chromosomes", []))),
        val=lambda wc: (
            "--split-by-chromosome val=" + ",".join(backbone_spec(wc.backbone)["pretraining"]["val_chromosomes"])
            if backbone_spec(wc.backbone)["pretraining"]["val_chromosomes"]
            else ""
        ),
    log:
        f"{CT}/logs/pretraining_windows_{{backbone}}.log",
    conda:
        "../../envs/data.yaml"
    shell:
        "python -m genolm reference-windows --reference {input.reference:q} --chromosomes {params.chromosomes}"
        " --length {params.length} --max-windows {params.windows} --seed {params.seed} {params.val}"
        " --out {output.shards:q} --qc {output.qc:q} > {log:q} 2>&1"


rule pretrain:
    input:
        shards=f"{CT}/shards/pretrain_{{backbone}}",
    output:
        weights=f"{CT}/pretrain/{{backbone}}/model/weights.ckpt",
        config=f"{CT}/pretrain/{{backbone}}/model/config.json",
        metrics=f"{CT}/pretrain/{{backbone}}/metrics.parquet",
        curve=report(f"{RESULTS}/plots/cancer_type/pretrain_{{backbone}}/loss.png", caption="../report/loss.rst",
                     category="Training curves"),
    params:
        seed=SEED,
        job_dir=lambda wc: f"{CT}/pretrain/{wc.backbone}",
        plots=lambda wc: f"{RESULTS}/plots/cancer_type/pretrain_{wc.backbone}",
        preset=lambda wc: backbone_spec(wc.backbone)["preset"],
        overrides=lambda wc: shlex.quote(json.dumps(backbone_spec(wc.backbone)["overrides"])),
        context=lambda wc: backbone_spec(wc.backbone)["context_length"],
        training=lambda wc: shlex.quote(json.dumps(backbone_spec(wc.backbone)["pretraining"]["training"])),
        tracking=lambda wc: tracking_args("pretrain", backbone=wc.backbone),
    log:
        f"{CT}/logs/pretrain_{{backbone}}.log",
    threads: config["compute"]["training_cpus"]
    resources:
        **training_gpu_resources(),
        mem_mb=training_mem_mb(config["compute"]["training_mem_mb"]),
        runtime=config["compute"]["training_runtime_min"],
    conda:
        "../../envs/train.yaml"
    shell:
        "python -m genolm pretrain --shards {input.shards:q} --preset {params.preset} --overrides {params.overrides}"
        " --context-length {params.context} --training {params.training} --seed {params.seed} --out {params.job_dir:q}"
        " --plots {params.plots:q} --study cancer_type --task pretraining --experiment pretrain-{wildcards.backbone}"
        " --model-name hyenadna-{params.preset} {params.tracking} > {log:q} 2>&1"


rule finetune:
    input:
        shards=lambda wc: f"{CT}/shards/mutated_L{experiment(wc)['context_length']}",
        backbone=backbone_weights,
    output:
        metrics=f"{CT}/runs/{{experiment}}/metrics.parquet",
        model=f"{CT}/runs/{{experiment}}/model/head.json",
        curve=report(f"{RESULTS}/plots/cancer_type/{{experiment}}/loss.png", caption="../report/loss.rst",
                     category="Training curves"),
    params:
        seed=SEED,
        job_dir=lambda wc: f"{CT}/runs/{wc.experiment}",
        plots=lambda wc: f"{RESULTS}/plots/cancer_type/{wc.experiment}",
        args=finetune_args,
        tracking=lambda wc: tracking_args("finetune", experiment=wc.experiment),
    log:
        f"{CT}/logs/finetune_{{experiment}}.log",
    threads: config["compute"]["training_cpus"]
    resources:
        **training_gpu_resources(),
        mem_mb=training_mem_mb(config["compute"]["training_mem_mb"]),
        runtime=config["compute"]["training_runtime_min"],
    conda:
        "../../envs/train.yaml"
    shell:
        "python -m genolm finetune --shards {input.shards:q} {params.args} --seed {params.seed} --out {params.job_dir:q}"
        " --plots {params.plots:q} {params.tracking} > {log:q} 2>&1"


rule embedding_windows:
    input:
        reference=ct_reference(),
    output:
        shards=directory(f"{CT}/shards/reference_L{{length}}"),
        qc=f"{CT}/qc/embedding_windows_L{{length}}.tsv",
    params:
        seed=SEED,
        chromosomes=",".join(STUDY.get("umap", {}).get("reference_chromosomes", [])),
        windows=STUDY.get("umap", {}).get("reference_windows", 0),
    log:
        f"{CT}/logs/embedding_windows_L{{length}}.log",
    conda:
        "../../envs/data.yaml"
    shell:
        "python -m genolm reference-windows --reference {input.reference:q} --chromosomes {params.chromosomes}"
        " --length {wildcards.length} --max-windows {params.windows} --seed {params.seed} --default-split reference"
        " --out {output.shards:q} --qc {output.qc:q} > {log:q} 2>&1"


rule embed:
    input:
        model=f"{CT}/runs/{{experiment}}/model/head.json",
        reference=ct_reference(),
        mutated=lambda wc: f"{CT}/shards/mutated_L{experiment(wc)['context_length']}",
        reference_windows=lambda wc: f"{CT}/shards/reference_L{experiment(wc)['context_length']}",
    output:
        f"{CT}/embeddings/{{experiment}}.parquet",
    params:
        model_dir=lambda wc, input: str(Path(input.model).parent),
    log:
        f"{CT}/logs/embed_{{experiment}}.log",
    threads: config["compute"]["training_cpus"]
    resources:
        **training_gpu_resources(),
        mem_mb=8000,
    conda:
        "../../envs/train.yaml"
    shell:
        "python -m genolm embed --model {params.model_dir:q} --reference {input.reference:q} --mutated-shards {input.mutated:q}"
        " --splits test --reference-shards {input.reference_windows:q} --out {output:q} > {log:q} 2>&1"


rule plot_umap:
    input:
        f"{CT}/embeddings/{{experiment}}.parquet",
    output:
        plots=[
            report(f"{RESULTS}/plots/cancer_type/{{experiment}}/umap_{c}.png", caption="../report/umap.rst",
                   category="UMAP", subcategory="{experiment}")
            for c in ("chromosome", "position_bin", "cancer_type")
        ],
        metrics=f"{CT}/runs/{{experiment}}/umap/metrics.parquet",
    params:
        seed=SEED,
        plots=lambda wc: f"{RESULTS}/plots/cancer_type/{wc.experiment}",
        grid=shlex.join(
            ["--n-neighbors", *map(str, STUDY.get("umap", {}).get("n_neighbors", [])),
             "--min-dist", *map(str, STUDY.get("umap", {}).get("min_dist", []))]
        ),
        umap=shlex.join(
            ["--position-bins", str(STUDY.get("umap", {}).get("position_bins", 10)),
             "--highlight-bins", str(STUDY.get("umap", {}).get("highlight_bins", 3)),
             "--knn-k", str(STUDY.get("umap", {}).get("knn_k", 10))]
        ),
        context=lambda wc: shlex.join(
            ["--context-length", str(experiment(wc)["context_length"]), "--init", experiment(wc)["init"],
             "--model-name", f"hyenadna-{backbone_spec(experiment(wc)['backbone'])['preset']}"]
        ),
        tracking=lambda wc: tracking_args("plot_umap", experiment=wc.experiment),
    log:
        f"{CT}/logs/plot_umap_{{experiment}}.log",
    conda:
        "../../envs/train.yaml"
    shell:
        "python -m genolm plot-umap --embeddings {input:q} {params.grid} {params.umap} {params.context} --seed {params.seed}"
        " --plots {params.plots:q} --out {output.metrics:q} --study cancer_type --task embedding_structure"
        " --experiment {wildcards.experiment} {params.tracking} > {log:q} 2>&1"
