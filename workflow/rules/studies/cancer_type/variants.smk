# Study 1's zero-shot arm and variant-effect benchmark (issue #23): the pretrained backbones score variants with
# `genolm score-variants` (log-likelihood ratio of ALT against REF, strands averaged), no training involved.
#
#   select_cell_lines -> zero_shot_mutations (at most zero_shot.max_mutations_per_cell_line per cell line)
#     -> score_mutations (per backbone) -> zero_shot (per backbone: lineage comparison + classifier of cell lines)
#   variant_benchmark.labels -> score_benchmark (per backbone) -> variant_benchmark (AUROC per backbone)
#
# Included by ../cancer_type.smk after its registrations; helpers in variants_common.smk.

include: "variants_common.smk"


if CT_STUDY["enabled"] and ct_zero_shot_backbones():
    ct_zero_shot_runs = [f"{CT}/zero_shot/{name}/metrics.parquet" for name in ct_zero_shot_backbones()]
    METRIC_TABLES["cancer_type"] += ct_zero_shot_runs
    FINAL_OUTPUTS["cancer_type"] += ct_zero_shot_runs
    for ct_name in ct_zero_shot_backbones():
        REPORT_TABLES["cancer_type"][f"zero_shot_{ct_name}"] = f"{RESULTS}/tables/cancer_type/zero_shot_{ct_name}.md"
    if CT_VARIANT_BENCHMARK["labels"]:
        METRIC_TABLES["cancer_type"].append(f"{CT}/variant_benchmark/metrics.parquet")
        FINAL_OUTPUTS["cancer_type"].append(f"{CT}/variant_benchmark/metrics.parquet")
        REPORT_TABLES["cancer_type"]["variant_benchmark"] = f"{RESULTS}/tables/cancer_type/variant_benchmark.md"


rule cancer_type_zero_shot_mutations:
    """The selected cell lines' mutations the zero-shot arm scores, capped per cell line (counted in QC)."""
    input:
        mutations=ct_mutations(),
        cell_lines=f"{CT}/selection/split{CT_ZERO_SHOT_REPLICATE.split_seed}/cell_lines.parquet",
    output:
        mutations=f"{CT}/zero_shot/mutations.parquet",
        qc=f"{CT}/zero_shot/qc.tsv",
    params:
        seed=SEED,
        cap=(f"--max-per-cell-line {CT_ZERO_SHOT['max_mutations_per_cell_line']}"
             if CT_ZERO_SHOT["max_mutations_per_cell_line"] else ""),
    log:
        f"{CT}/logs/zero_shot_mutations.log",
    conda:
        "../../../../envs/data.yaml"
    shell:
        "python -m genolm cancer-type-sample-mutations --cell-lines {input.cell_lines:q} --mutations {input.mutations:q}"
        " {params.cap} --seed {params.seed} --out {output.mutations:q} --qc {output.qc:q} > {log:q} 2>&1"


rule cancer_type_score_mutations:
    input:
        model=ct_backbone_model_input,
        reference=ct_reference(),
        variants=f"{CT}/zero_shot/mutations.parquet",
    output:
        scores=f"{CT}/zero_shot/{{backbone}}/scores.parquet",
        qc=f"{CT}/zero_shot/{{backbone}}/score_qc.tsv",
    params:
        model=ct_zero_shot_backbone_dir,
        options=ct_scoring_options,
    log:
        f"{CT}/logs/score_mutations_{{backbone}}.log",
    threads: config["compute"]["training_cpus"]
    resources:
        **accelerator_resources(),
        mem_mb=4000,
    conda:
        "../../../../envs/train.yaml"
    shell:
        "python -m genolm score-variants --model {params.model:q} --reference {input.reference:q}"
        " --variants {input.variants:q} --format parquet {params.options} --out {output.scores:q} --qc {output.qc:q}"
        " > {log:q} 2>&1"


rule cancer_type_zero_shot:
    """A backbone's zero-shot arm: pre-registered lineage comparisons and a classifier of cell lines from their
    mutations' score distribution, as results-table rows beside the fine-tuned arms (experiment zero-shot-<backbone>)."""
    input:
        cell_lines=f"{CT}/selection/split{CT_ZERO_SHOT_REPLICATE.split_seed}/cell_lines.parquet",
        mutations=f"{CT}/zero_shot/mutations.parquet",
        scores=f"{CT}/zero_shot/{{backbone}}/scores.parquet",
    output:
        metrics=f"{CT}/zero_shot/{{backbone}}/metrics.parquet",
        features=f"{CT}/zero_shot/{{backbone}}/features.parquet",
        qc=f"{CT}/zero_shot/{{backbone}}/qc.tsv",
        md=f"{RESULTS}/tables/cancer_type/zero_shot_{{backbone}}.md",
    params:
        seed=SEED,
        context=lambda wc: ct_scoring_window(wc.backbone),
        comparisons=canonical_json(CT_ZERO_SHOT["lineage_comparisons"]),
        model=lambda wc: f"hyenadna-{CT_STUDY['backbones'][wc.backbone]['preset']}",
    log:
        f"{CT}/logs/zero_shot_{{backbone}}.log",
    conda:
        "../../../../envs/train.yaml"
    shell:
        "python -m genolm cancer-type-zero-shot --cell-lines {input.cell_lines:q} --mutations {input.mutations:q}"
        " --scores {input.scores:q} --context-length {params.context} --seed {params.seed}"
        " --lineage-comparisons {params.comparisons:q} --out {output.metrics:q} --features {output.features:q}"
        " --qc {output.qc:q} --out-md {output.md:q} --study cancer_type --task cancer_type_classification"
        " --experiment zero-shot-{wildcards.backbone} --model-name {params.model} --tokenizer-name character"
        " > {log:q} 2>&1"


rule cancer_type_score_benchmark:
    input:
        model=ct_backbone_model_input,
        reference=ct_reference(),
        variants=resolve_url(CT_VARIANT_BENCHMARK["labels"]) if CT_VARIANT_BENCHMARK["labels"] else [],
    output:
        scores=f"{CT}/variant_benchmark/{{backbone}}/scores.parquet",
        qc=f"{CT}/variant_benchmark/{{backbone}}/score_qc.tsv",
    params:
        model=ct_zero_shot_backbone_dir,
        options=ct_scoring_options,
    log:
        f"{CT}/logs/score_benchmark_{{backbone}}.log",
    threads: config["compute"]["training_cpus"]
    resources:
        **accelerator_resources(),
        mem_mb=4000,
    conda:
        "../../../../envs/train.yaml"
    shell:
        "python -m genolm score-variants --model {params.model:q} --reference {input.reference:q}"
        " --variants {input.variants:q} --format vcf {params.options} --out {output.scores:q} --qc {output.qc:q}"
        " > {log:q} 2>&1"


rule cancer_type_variant_benchmark:
    """AUROC (bootstrap interval over variants) of each backbone's zero-shot scores on the labelled variant set."""
    input:
        # backbones in name order: a reordered config records the same parameters (tests/test_rule_params.py)
        scores=[f"{CT}/variant_benchmark/{name}/scores.parquet" for name in sorted(ct_zero_shot_backbones())],
        labels=resolve_url(CT_VARIANT_BENCHMARK["labels"]) if CT_VARIANT_BENCHMARK["labels"] else [],
    output:
        metrics=f"{CT}/variant_benchmark/metrics.parquet",
        qc=f"{CT}/variant_benchmark/qc.tsv",
        md=f"{RESULTS}/tables/cancer_type/variant_benchmark.md",
    params:
        names=shlex.join(sorted(ct_zero_shot_backbones())),
        field=CT_VARIANT_BENCHMARK["label_field"],
        task=CT_VARIANT_BENCHMARK["name"],
        seed=SEED,
    log:
        f"{CT}/logs/variant_benchmark.log",
    conda:
        "../../../../envs/train.yaml"
    shell:
        "python -m genolm variant-benchmark --scores {input.scores:q} --names {params.names} --labels {input.labels:q}"
        " --label-field {params.field:q} --task {params.task:q} --study cancer_type --seed {params.seed}"
        " --out {output.metrics:q} --qc {output.qc:q} --out-md {output.md:q} > {log:q} 2>&1"
