# Study 3: virBERT, phage vs other viruses with scarce labels. Its Python home is src/genolm/studies/virbert
# (genome split, the three example samplers, specs, the documents' tables and the figure).
#
#   virbert_genomes (labels, families, split by unit) -> virbert_pretraining_examples -> virbert_pretrain (per variant)
#                                                     -> virbert_finetune_examples (per length)
#   virbert_finetune (per arm, length, label fraction and seed) -> virbert_tables (Table 1, 4.1, 4.4 + figure)
#   transfer: a released DNABERT-6 directory, or virbert_transfer_windows (human reference) -> virbert_pretrain_transfer
#             (the stand-in for a released model: pretrained once, with the config's `seed`, whatever the replicate)
# Replicate seed<N> draws its genome split (split<S>) and its pretraining with N where the study's `replicate` block
# says so (genolm.replicates); a variant's pretraining reads its replicate's train and val genomes.

include: "virbert/common.smk"


if VB_STUDY["enabled"]:
    if vb_transfer_pretrained():
        REFERENCE_FILES[VB_STUDY["transfer"]["reference_source"]] = VB_STUDY["transfer"]["reference_file"]
    vb_runs = [f"{VB}/runs/{vb_specs.experiment_name(arm, length, fraction)}/seed{seed}/metrics.parquet"
               for arm, length, fraction in vb_specs.arm_grid(VB_STUDY) for seed in SEEDS]
    vb_pretraining = [f"{VB}/pretrain/{name}/split{split}_seed{pretrain}/metrics.parquet"
                      for name in vb_pretrained_variants() for split, pretrain in vb_pretraining_runs()]
    vb_pretraining += [f"{VB}/pretrain/transfer-human/seed{vb_transfer_seed()}/metrics.parquet"] if vb_transfer_pretrained() else []
    METRIC_TABLES["virbert"] = vb_runs + vb_pretraining
    REPORT_TABLES["virbert"] = {"paper_tables": f"{RESULTS}/tables/virbert/paper_tables.md",
                                "summary": f"{RESULTS}/tables/virbert/summary.tsv"}
    FINAL_OUTPUTS["virbert"] = vb_runs + [*REPORT_TABLES["virbert"].values(),
                                          f"{RESULTS}/plots/virbert/recall_vs_label_fraction.png"]
    FINAL_OUTPUTS["virbert"] += [f"{VB}/qc/seed{seed}/leak_check_L{length}.tsv" for length in VB_STUDY["lengths"]
                                 for seed in SEEDS]
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
        genomes=f"{VB}/genomes/split{{split_seed}}/genomes.parquet",
        qc=f"{VB}/genomes/split{{split_seed}}/qc.tsv",
    params:
        inputs=vb_genome_args,
        unit=VB_STUDY["split_unit"],
        split=split_arg(VB_STUDY["split"]),
    log:
        f"{VB}/logs/virbert_genomes_split{{split_seed}}.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm virbert-genomes {params.inputs} --unit {params.unit} --split {params.split}"
        " --seed {wildcards.split_seed} --out {output.genomes:q} --qc {output.qc:q} > {log:q} 2>&1"


rule virbert_pretraining_examples:
    input:
        f"{VB}/genomes/split{{split_seed}}/genomes.parquet",
    output:
        shards=directory(f"{VB}/shards/split{{split_seed}}/pretrain_{{variant}}_seed{{pretrain_seed}}"),
        qc=f"{VB}/qc/split{{split_seed}}/pretraining_examples_{{variant}}_seed{{pretrain_seed}}.tsv",
    wildcard_constraints:
        variant="(?!transfer-human$)[^/]+",
    params:
        law=lambda wc: shlex.join([
            "--low", str(VB_STUDY["variants"][wc.variant]["min_length"]),
            "--high", str(VB_STUDY["variants"][wc.variant]["max_length"]),
            "--full-fraction", str(VB_STUDY["variants"][wc.variant]["full_fraction"]),
            "--sampled-ratio", str(VB_STUDY["variants"][wc.variant]["sampled_ratio"])]),
    log:
        f"{VB}/logs/pretraining_examples_split{{split_seed}}_{{variant}}_seed{{pretrain_seed}}.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm virbert-examples --genomes {input:q} --kind pretraining --splits train val {params.law}"
        " --seed {wildcards.pretrain_seed} --out {output.shards:q} --qc {output.qc:q} > {log:q} 2>&1"


rule virbert_finetune_examples:
    input:
        f"{VB}/genomes/split{{split_seed}}/genomes.parquet",
    output:
        shards=directory(f"{VB}/shards/split{{split_seed}}/fragments_L{{length}}"),
        qc=f"{VB}/qc/split{{split_seed}}/finetune_examples_L{{length}}.tsv",
    params:
        sampling=shlex.join([
            "--cap", str(VB_STUDY["finetune_examples"]["cap"]),
            "--max-repeats", str(VB_STUDY["finetune_examples"]["max_repeats"]),
            "--per-genome", str(VB_STUDY["evaluation_examples"]["per_genome"])]
            + ([] if VB_STUDY["finetune_examples"]["balance_classes"] else ["--no-balance"])),
    log:
        f"{VB}/logs/finetune_examples_split{{split_seed}}_L{{length}}.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm virbert-examples --genomes {input:q} --kind finetune --splits train val test"
        " --length {wildcards.length} {params.sampling} --seed {wildcards.split_seed} --out {output.shards:q}"
        " --qc {output.qc:q} > {log:q} 2>&1"


register_training_rule("virbert_pretrain", "virbert", lambda wc: f"pretrain/{wc.variant}/split{wc.split_seed}_seed{wc.pretrain_seed}")


use rule genolm_train as virbert_pretrain with:
    input:
        shards=f"{VB}/shards/split{{split_seed}}/pretrain_{{variant}}_seed{{pretrain_seed}}",
    output:
        weights=f"{VB}/pretrain/{{variant}}/split{{split_seed}}_seed{{pretrain_seed}}/model/model.safetensors",
        metrics=f"{VB}/pretrain/{{variant}}/split{{split_seed}}_seed{{pretrain_seed}}/metrics.parquet",
    wildcard_constraints:
        variant="(?!transfer-human$)[^/]+",
    params:
        job_dir=lambda wc: f"{VB}/pretrain/{wc.variant}/split{wc.split_seed}_seed{wc.pretrain_seed}",
        plots=lambda wc: f"{RESULTS}/plots/virbert/pretrain_{wc.variant}/split{wc.split_seed}_seed{wc.pretrain_seed}",
        spec=lambda wc: canonical_json(vb_specs.pretraining_spec(VB_STUDY["variants"][wc.variant])),
        seed=lambda wc: wc.pretrain_seed,
        study="virbert",
        task="pretraining",
        experiment=lambda wc: f"pretrain-{wc.variant}",
        options=lambda wc: shlex.join(["--model-name", f"bert-{VB_STUDY['variants'][wc.variant]['preset']}-{wc.variant}"]),
        tracking=lambda wc: tracking_args("virbert_pretrain", wc.pretrain_seed, wc.split_seed, variant=wc.variant),
    log:
        f"{VB}/logs/pretrain_{{variant}}_split{{split_seed}}_seed{{pretrain_seed}}.log",


rule virbert_transfer_windows:
    input:
        reference=f"{RES}/reference/{VB_STUDY['transfer']['reference_source']}/genome.fa.gz",
    output:
        shards=directory(f"{VB}/shards/pretrain_transfer-human_seed{{pretrain_seed}}"),
        qc=f"{VB}/qc/transfer_windows_seed{{pretrain_seed}}.tsv",
    params:
        length=lambda wc: vb_transfer_variant()["max_length"],
        windows=VB_STUDY["transfer"]["windows"],
        chromosomes=chromosome_arg(VB_STUDY["transfer"]["chromosomes"]),
    log:
        f"{VB}/logs/transfer_windows_seed{{pretrain_seed}}.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm reference-windows --reference {input.reference:q} --chromosomes {params.chromosomes}"
        " --length {params.length} --max-windows {params.windows} --seed {wildcards.pretrain_seed}"
        " --out {output.shards:q} --qc {output.qc:q} > {log:q} 2>&1"


register_training_rule("virbert_pretrain_transfer", "virbert", lambda wc: f"pretrain/transfer-human/seed{wc.pretrain_seed}")


use rule genolm_train as virbert_pretrain_transfer with:
    input:
        shards=f"{VB}/shards/pretrain_transfer-human_seed{{pretrain_seed}}",
    output:
        weights=f"{VB}/pretrain/transfer-human/seed{{pretrain_seed}}/model/model.safetensors",
        metrics=f"{VB}/pretrain/transfer-human/seed{{pretrain_seed}}/metrics.parquet",
    params:
        job_dir=lambda wc: f"{VB}/pretrain/transfer-human/seed{wc.pretrain_seed}",
        plots=lambda wc: f"{RESULTS}/plots/virbert/pretrain_transfer-human/seed{wc.pretrain_seed}",
        spec=lambda wc: canonical_json(vb_specs.pretraining_spec(vb_transfer_variant())),
        seed=lambda wc: wc.pretrain_seed,
        study="virbert",
        task="pretraining",
        experiment="pretrain-transfer-human",
        options=lambda wc: shlex.join(["--model-name", f"bert-{vb_transfer_variant()['preset']}-human-standin"]),
        tracking=lambda wc: tracking_args("virbert_pretrain", wc.pretrain_seed, variant="transfer-human"),
    log:
        f"{VB}/logs/pretrain_transfer-human_seed{{pretrain_seed}}.log",


register_training_rule("virbert_finetune", "virbert",
                       lambda wc: f"runs/{wc.arm}_L{wc.length}_f{wc.fraction}/seed{wc.seed}")


use rule genolm_train as virbert_finetune with:
    input:
        shards=lambda wc: f"{VB}/shards/{vb_split_dir(wc.seed)}/fragments_L{wc.length}",
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
        seed=lambda wc: wc.seed,
        job_dir=lambda wc: f"{VB}/runs/{wc.arm}_L{wc.length}_f{wc.fraction}/seed{wc.seed}",
        plots=lambda wc: f"{RESULTS}/plots/virbert/{wc.arm}_L{wc.length}_f{wc.fraction}/seed{wc.seed}",
        spec=vb_finetune_spec,
        study="virbert",
        task="phage_classification",
        experiment=lambda wc: f"{wc.arm}_L{wc.length}_f{wc.fraction}",
        options=lambda wc: shlex.join(["--model-name", vb_specs.model_name(VB_STUDY, wc.arm)]),
        tracking=lambda wc: tracking_args("virbert_finetune",
                                          vb_arm_pretrain_seed(f"{wc.arm}_L{wc.length}_f{wc.fraction}", wc.seed),
                                          vb_replicate(wc.seed).split_seed, arm=wc.arm, length=wc.length,
                                          fraction=wc.fraction, seed=wc.seed),
    log:
        f"{VB}/logs/finetune_{{arm}}_L{{length}}_f{{fraction}}_seed{{seed}}.log",


rule virbert_leak_check:
    """Leak check: each test genome's k-mer containment in the training fragments and in the workflow's pretraining
    examples (a split by family is not homology-disjoint when families share sequence)."""
    input:
        test=lambda wc: f"{VB}/shards/{vb_split_dir(wc.seed)}/fragments_L{wc.length}",
        pretraining=lambda wc: [f"{VB}/shards/{vb_split_dir(wc.seed)}/pretrain_{name}_seed{vb_replicate(wc.seed).pretrain_seed}"
                                for name in vb_pretrained_variants()],
    output:
        qc=f"{VB}/qc/seed{{seed}}/leak_check_L{{length}}.tsv",
    params:
        args=shlex.join(["--k", str(VB_STUDY["leak_check"]["k"]), "--scaled", str(VB_STUDY["leak_check"]["scaled"]),
                         "--max-containment", str(VB_STUDY["leak_check"]["max_containment"])]),
    log:
        f"{VB}/logs/leak_check_seed{{seed}}_L{{length}}.log",
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
        # genome -> family, the same in every replicate's split
        genomes=f"{VB}/genomes/{vb_split_dir(SEEDS[0])}/genomes.parquet",
    output:
        tsv=f"{RESULTS}/tables/virbert/comparisons.tsv",
        md=f"{RESULTS}/tables/virbert/comparisons.md",
        plot=report(f"{RESULTS}/plots/virbert/comparisons.png", caption="../../report/comparisons.rst",
                    category="virbert", subcategory="figures"),
    params:
        comparisons=canonical_json(VB_STUDY["comparisons"]),
        runs=comparison_runs(VB_STUDY["comparisons"], vb_job_dir, vb_arm_pretrain_seed, VB_STUDY),
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
