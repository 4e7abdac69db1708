# Study 3: virBERT, phage vs other viruses with scarce labels. Its Python home is src/genolm/studies/virbert
# (genome split, the three example samplers, specs, the documents' tables and the figure).
#
#   virbert_genomes (labels, families, split by unit) -> virbert_pretraining_examples -> virbert_pretrain (per variant)
#                                                     -> virbert_finetune_examples (per length)
#   virbert_finetune (per arm, length, label fraction and seed) -> virbert_tables (Table 1, 4.1, 4.4 + figure)
#   transfer: a released DNABERT-6 directory, or virbert_transfer_windows (human reference) -> virbert_pretrain_transfer

include: "virbert/common.smk"


if VB_STUDY["enabled"]:
    if vb_transfer_pretrained():
        REFERENCE_FILES[VB_STUDY["transfer"]["reference_source"]] = VB_STUDY["transfer"]["reference_file"]
    vb_runs = [f"{VB}/runs/{vb_specs.experiment_name(arm, length, fraction)}/seed{seed}/metrics.parquet"
               for arm, length, fraction in vb_specs.arm_grid(VB_STUDY) for seed in SEEDS]
    vb_pretraining = [f"{VB}/pretrain/{name}/metrics.parquet" for name in vb_pretrained_variants()]
    vb_pretraining += [f"{VB}/pretrain/transfer-human/metrics.parquet"] if vb_transfer_pretrained() else []
    METRIC_TABLES["virbert"] = vb_runs + vb_pretraining
    REPORT_TABLES["virbert"] = {"paper_tables": f"{RESULTS}/tables/virbert/paper_tables.md",
                                "summary": f"{RESULTS}/tables/virbert/summary.tsv"}
    FINAL_OUTPUTS["virbert"] = vb_runs + [*REPORT_TABLES["virbert"].values(),
                                          f"{RESULTS}/plots/virbert/recall_vs_label_fraction.png"]
    FINAL_OUTPUTS["virbert"] += [f"{VB}/qc/leak_check_L{length}.tsv" for length in VB_STUDY["lengths"]]
    if VB_STUDY["comparisons"]:
        REPORT_TABLES["virbert"]["comparisons"] = f"{RESULTS}/tables/virbert/comparisons.md"
        FINAL_OUTPUTS["virbert"] += comparison_outputs("virbert")


rule virbert:
    """`make virbert`: this study alone, with its own slice of the results table."""
    input:
        study_outputs("virbert"),


rule virbert_genomes:
    input:
        **vb_genome_inputs(),
    output:
        genomes=f"{VB}/genomes/genomes.parquet",
        qc=f"{VB}/genomes/qc.tsv",
    params:
        inputs=vb_genome_args,
        seed=SEED,
        unit=VB_STUDY["split_unit"],
        split=split_arg(VB_STUDY["split"]),
    log:
        f"{VB}/logs/virbert_genomes.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm virbert-genomes {params.inputs} --unit {params.unit} --split {params.split}"
        " --seed {params.seed} --out {output.genomes:q} --qc {output.qc:q} > {log:q} 2>&1"


rule virbert_pretraining_examples:
    input:
        f"{VB}/genomes/genomes.parquet",
    output:
        shards=directory(f"{VB}/shards/pretrain_{{variant}}"),
        qc=f"{VB}/qc/pretraining_examples_{{variant}}.tsv",
    wildcard_constraints:
        variant="(?!transfer-human$)[^/]+",
    params:
        seed=SEED,
        law=lambda wc: shlex.join([
            "--low", str(VB_STUDY["variants"][wc.variant]["min_length"]),
            "--high", str(VB_STUDY["variants"][wc.variant]["max_length"]),
            "--full-fraction", str(VB_STUDY["variants"][wc.variant]["full_fraction"]),
            "--sampled-ratio", str(VB_STUDY["variants"][wc.variant]["sampled_ratio"])]),
    log:
        f"{VB}/logs/pretraining_examples_{{variant}}.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm virbert-examples --genomes {input:q} --kind pretraining --splits train val {params.law}"
        " --seed {params.seed} --out {output.shards:q} --qc {output.qc:q} > {log:q} 2>&1"


rule virbert_finetune_examples:
    input:
        f"{VB}/genomes/genomes.parquet",
    output:
        shards=directory(f"{VB}/shards/fragments_L{{length}}"),
        qc=f"{VB}/qc/finetune_examples_L{{length}}.tsv",
    params:
        seed=SEED,
        sampling=shlex.join([
            "--cap", str(VB_STUDY["finetune_examples"]["cap"]),
            "--max-repeats", str(VB_STUDY["finetune_examples"]["max_repeats"]),
            "--per-genome", str(VB_STUDY["evaluation_examples"]["per_genome"])]
            + ([] if VB_STUDY["finetune_examples"]["balance_classes"] else ["--no-balance"])),
    log:
        f"{VB}/logs/finetune_examples_L{{length}}.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm virbert-examples --genomes {input:q} --kind finetune --splits train val test"
        " --length {wildcards.length} {params.sampling} --seed {params.seed} --out {output.shards:q}"
        " --qc {output.qc:q} > {log:q} 2>&1"


rule virbert_pretrain:
    input:
        shards=f"{VB}/shards/pretrain_{{variant}}",
    output:
        weights=f"{VB}/pretrain/{{variant}}/model/model.safetensors",
        metrics=f"{VB}/pretrain/{{variant}}/metrics.parquet",
    wildcard_constraints:
        variant="(?!transfer-human$)[^/]+",
    params:
        seed=SEED,
        job_dir=lambda wc: f"{VB}/pretrain/{wc.variant}",
        plots=lambda wc: f"{RESULTS}/plots/virbert/pretrain_{wc.variant}",
        spec=lambda wc: canonical_json(vb_specs.pretraining_spec(VB_STUDY["variants"][wc.variant])),
        model=lambda wc: f"bert-{VB_STUDY['variants'][wc.variant]['preset']}-{wc.variant}",
        tracking=lambda wc: tracking_args("virbert_pretrain", variant=wc.variant),
    log:
        f"{VB}/logs/pretrain_{{variant}}.log",
    threads: config["compute"]["training_cpus"]
    resources:
        **training_gpu_resources(),
        mem_mb=training_mem_mb(config["compute"]["training_mem_mb"]),
        runtime=config["compute"]["training_runtime_min"],
    retries: training_retries("virbert")
    conda:
        "../../../envs/train.yaml"
    shell:
        "exec python -m genolm train --spec {params.spec:q} --shards {input.shards:q} --seed {params.seed}"
        " --out {params.job_dir:q} --plots {params.plots:q} --study virbert --task pretraining"
        " --experiment pretrain-{wildcards.variant} --model-name {params.model} {params.tracking} > {log:q} 2>&1"


rule virbert_transfer_windows:
    input:
        reference=f"{RES}/reference/{VB_STUDY['transfer']['reference_source']}/genome.fa.gz",
    output:
        shards=directory(f"{VB}/shards/pretrain_transfer-human"),
        qc=f"{VB}/qc/transfer_windows.tsv",
    params:
        seed=SEED,
        length=lambda wc: vb_transfer_variant()["max_length"],
        windows=VB_STUDY["transfer"]["windows"],
        chromosomes=chromosome_arg(VB_STUDY["transfer"]["chromosomes"]),
    log:
        f"{VB}/logs/transfer_windows.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm reference-windows --reference {input.reference:q} --chromosomes {params.chromosomes}"
        " --length {params.length} --max-windows {params.windows} --seed {params.seed}"
        " --out {output.shards:q} --qc {output.qc:q} > {log:q} 2>&1"


rule virbert_pretrain_transfer:
    input:
        shards=f"{VB}/shards/pretrain_transfer-human",
    output:
        weights=f"{VB}/pretrain/transfer-human/model/model.safetensors",
        metrics=f"{VB}/pretrain/transfer-human/metrics.parquet",
    params:
        seed=SEED,
        job_dir=lambda wc: f"{VB}/pretrain/transfer-human",
        plots=lambda wc: f"{RESULTS}/plots/virbert/pretrain_transfer-human",
        spec=lambda wc: canonical_json(vb_specs.pretraining_spec(vb_transfer_variant())),
        model=lambda wc: f"bert-{vb_transfer_variant()['preset']}-human-standin",
        tracking=lambda wc: tracking_args("virbert_pretrain", variant="transfer-human"),
    log:
        f"{VB}/logs/pretrain_transfer-human.log",
    threads: config["compute"]["training_cpus"]
    resources:
        **training_gpu_resources(),
        mem_mb=training_mem_mb(config["compute"]["training_mem_mb"]),
        runtime=config["compute"]["training_runtime_min"],
    retries: training_retries("virbert")
    conda:
        "../../../envs/train.yaml"
    shell:
        "exec python -m genolm train --spec {params.spec:q} --shards {input.shards:q} --seed {params.seed}"
        " --out {params.job_dir:q} --plots {params.plots:q} --study virbert --task pretraining"
        " --experiment pretrain-transfer-human --model-name {params.model} {params.tracking} > {log:q} 2>&1"


rule virbert_finetune:
    input:
        shards=f"{VB}/shards/fragments_L{{length}}",
        backbone=vb_backbone_input,
    output:
        metrics=f"{VB}/runs/{{arm}}_L{{length}}_f{{fraction}}/seed{{seed}}/metrics.parquet",
        predictions=f"{VB}/runs/{{arm}}_L{{length}}_f{{fraction}}/seed{{seed}}/predictions.parquet",
        model=directory(f"{VB}/runs/{{arm}}_L{{length}}_f{{fraction}}/seed{{seed}}/model"),
    wildcard_constraints:
        arm="[^/]+?",
        length=r"\d+",
        fraction=r"[0-9.e-]+",
    params:
        job_dir=lambda wc: f"{VB}/runs/{wc.arm}_L{wc.length}_f{wc.fraction}/seed{wc.seed}",
        plots=lambda wc: f"{RESULTS}/plots/virbert/{wc.arm}_L{wc.length}_f{wc.fraction}/seed{wc.seed}",
        spec=vb_finetune_spec,
        model=lambda wc: vb_specs.model_name(VB_STUDY, wc.arm),
        tracking=lambda wc: tracking_args("virbert_finetune", arm=wc.arm, length=wc.length,
                                          fraction=wc.fraction, seed=wc.seed),
    log:
        f"{VB}/logs/finetune_{{arm}}_L{{length}}_f{{fraction}}_seed{{seed}}.log",
    threads: config["compute"]["training_cpus"]
    resources:
        **training_gpu_resources(),
        mem_mb=training_mem_mb(config["compute"]["training_mem_mb"]),
        runtime=config["compute"]["training_runtime_min"],
    retries: training_retries("virbert")
    conda:
        "../../../envs/train.yaml"
    shell:
        "exec python -m genolm train --spec {params.spec:q} --shards {input.shards:q} --seed {wildcards.seed}"
        " --out {params.job_dir:q} --plots {params.plots:q} --study virbert --task phage_classification"
        " --experiment {wildcards.arm}_L{wildcards.length}_f{wildcards.fraction} --model-name {params.model}"
        " {params.tracking} > {log:q} 2>&1"


rule virbert_leak_check:
    """Leak check: each test genome's k-mer containment in the training fragments and in the workflow's pretraining
    examples (a split by family is not homology-disjoint when families share sequence)."""
    input:
        test=f"{VB}/shards/fragments_L{{length}}",
        pretraining=[f"{VB}/shards/pretrain_{name}" for name in vb_pretrained_variants()],
    output:
        qc=f"{VB}/qc/leak_check_L{{length}}.tsv",
    params:
        args=shlex.join(["--k", str(VB_STUDY["leak_check"]["k"]), "--scaled", str(VB_STUDY["leak_check"]["scaled"]),
                         "--max-containment", str(VB_STUDY["leak_check"]["max_containment"])]),
    log:
        f"{VB}/logs/leak_check_L{{length}}.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm leak-check --test {input.test:q} --test-split test --unit-column sample"
        " --against {input.test:q} {input.pretraining:q} --against-split train {params.args}"
        " --qc {output.qc:q} > {log:q} 2>&1"


rule virbert_comparisons:
    """The study's pre-registered comparisons (config `comparisons`; arms are experiment names such as
    pretrained_L150_f0.1) over its seeds; each test genome's rows are resampled with its family (genomes.parquet)."""
    input:
        runs=comparison_inputs(VB_STUDY["comparisons"], vb_job_dir),
        genomes=f"{VB}/genomes/genomes.parquet",
    output:
        tsv=f"{RESULTS}/tables/virbert/comparisons.tsv",
        md=f"{RESULTS}/tables/virbert/comparisons.md",
        plot=report(f"{RESULTS}/plots/virbert/comparisons.png", caption="../../report/comparisons.rst",
                    category="virbert", subcategory="figures"),
    params:
        comparisons=canonical_json(VB_STUDY["comparisons"]),
        runs=comparison_runs(VB_STUDY["comparisons"], vb_job_dir, lambda arm: SEED),
    log:
        f"{VB}/logs/virbert_comparisons.log",
    conda:
        "../../../envs/train.yaml"
    shell:
        "python -m genolm compare --comparisons {params.comparisons:q} {params.runs}"
        " --unit-map {input.genomes:q} genome_id family --out-tsv {output.tsv:q}"
        " --out-md {output.md:q} --plot {output.plot:q} --title virbert > {log:q} 2>&1"


rule virbert_tables:
    input:
        lambda wc: METRIC_TABLES["virbert"],
    output:
        summary=f"{RESULTS}/tables/virbert/summary.tsv",
        tables=f"{RESULTS}/tables/virbert/paper_tables.md",
        figure=report(f"{RESULTS}/plots/virbert/recall_vs_label_fraction.png",
                      caption="../../report/virbert_recall_vs_label_fraction.rst", category="virbert", subcategory="figures"),
    params:
        study=canonical_json(VB_STUDY),
    log:
        f"{VB}/logs/virbert_tables.log",
    conda:
        "../../../envs/train.yaml"
    shell:
        "python -m genolm virbert-tables {input:q} --study {params.study:q} --summary {output.summary:q}"
        " --tables {output.tables:q} --figure {output.figure:q} > {log:q} 2>&1"
