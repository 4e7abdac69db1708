# Study 4: ENBED, the byte-level encoder-decoder (docs/studies/enbed.md). Its Python home is src/genolm/studies/enbed.
#
#   enbed_corpus (assemblies, N removed) -> enbed_pretrain (per architecture with pretrain: true)
#   enbed_corpus -> enbed_reconstruction -> enbed_reconstruction_pretrain (per mutation-generation architecture) -+
#   enbed_corpus -> enbed_noise ------------------------------+
#   enbed_annotation (Ensembl GTF + assembly) ----------------+
#   enbed_pairs (FASTA + parent/child/clade table) -----------+-> enbed_train (per task, experiment, seed or fold)
#   prepare_benchmark -> enbed_benchmark (val split or fold) -+          -> enbed_tables (paper layouts, figures)
#   enbed_haplotypes (phased VCFs + GRCh38, corpus.haplotypes) -> enbed_corpus
#   enbed_train (generation + noise runs) -> enbed_rank_candidates (the paper's Top-1, noise_ranking)
#   enbed_pretrain -> enbed_attention_maps (the paper's Figure 2, attention_maps)
# Replicate seed<N> draws its corpus and pretrainings (seed<P>) and its task splits (split<S>) with N where the
# study's `replicate` block says so (genolm.replicates); a benchmark's folds are drawn once, with `seed`.

include: "enbed/common.smk"


if EN_STUDY["enabled"]:
    en_haplotype_reference = [EN_STUDY["corpus"]["haplotypes"]["reference_source"]] if EN_STUDY["corpus"]["haplotypes"] else []
    for en_source in EN_STUDY["corpus"]["reference_sources"] + en_haplotype_reference:
        REFERENCE_FILES.setdefault(en_source, next(iter(config["sources"][en_source]["files"])))
    METRIC_TABLES["enbed"] = en_metric_tables()
    if EN_STUDY["paper_tables"]:
        REPORT_TABLES["enbed"] = {"paper_tables": f"{RESULTS}/tables/enbed/paper_tables.md",
                                  "paper_tables_summary": f"{RESULTS}/tables/enbed/paper_tables_summary.tsv"}
    FINAL_OUTPUTS["enbed"] = en_metric_tables() + (
        [*REPORT_TABLES["enbed"].values(), *(f"{RESULTS}/plots/enbed/{task}.png" for task in en_figure_tasks())]
        if EN_STUDY["paper_tables"] else [])
    FINAL_OUTPUTS["enbed"] += [f"{RESULTS}/plots/enbed/attention_{name}.png" for name in EN_STUDY["attention_maps"]["architectures"]]
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
        shards=[f"{EN}/shards/split{en_replicate(f'seed{seed}').split_seed}/pairs" for seed in SEEDS],
    output:
        tsv=f"{RESULTS}/tables/enbed/comparisons.tsv",
        md=f"{RESULTS}/tables/enbed/comparisons.md",
        plot=report(f"{RESULTS}/plots/enbed/comparisons.png", caption="../../report/comparisons.rst",
                    category="enbed", subcategory="figures"),
    params:
        comparisons=canonical_json(EN_STUDY["comparisons"]),
        # each run's parents are looked up in its own replicate's pairs
        runs=comparison_runs(EN_STUDY["comparisons"], en_compared_job_dir, en_compared_pretrain_seed, EN_STUDY,
                             lambda seed: f"{EN}/shards/split{en_replicate(f'seed{seed}').split_seed}/pairs"),
    log:
        f"{EN}/logs/enbed_comparisons.log",
    conda:
        "../../../envs/train.yaml"
    shell:
        "python -m genolm compare --comparisons {params.comparisons:q} {params.runs}"
        " --group-column sequence --out-tsv {output.tsv:q}"
        " --out-md {output.md:q} --plot {output.plot:q} --title enbed > {log:q} 2>&1"


rule enbed_haplotypes:
    """Phased samples' haplotypes (corpus.haplotypes: the 1000 Genomes Project's VCFs on GRCh38), one more genome of
    the corpus."""
    input:
        vcfs=en_haplotype_vcfs(),
        reference=lambda wc: en_reference(EN_STUDY["corpus"]["haplotypes"]["reference_source"]),
    output:
        fastas=directory(f"{EN}/haplotypes"),
        qc=f"{EN}/qc/haplotypes.tsv",
    params:
        chromosomes=lambda wc: shlex.join(EN_STUDY["corpus"]["haplotypes"]["chromosomes"]),
        samples=lambda wc: (shlex.join(["--samples", *EN_STUDY["corpus"]["haplotypes"]["samples"]])
                            if EN_STUDY["corpus"]["haplotypes"]["samples"]
                            else f"--max-samples {EN_STUDY['corpus']['haplotypes']['max_samples']}"),
        seed=SEED,
    log:
        f"{EN}/logs/haplotypes.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm haplotypes --vcf {input.vcfs:q} --reference {input.reference:q} --chromosomes {params.chromosomes}"
        " {params.samples} --seed {params.seed} --out {output.fastas:q} --qc {output.qc:q} > {log:q} 2>&1"


rule enbed_corpus:
    input:
        en_corpus_inputs(),
    output:
        shards=directory(f"{EN}/shards/seed{{pretrain_seed}}/corpus"),
        qc=f"{EN}/qc/corpus_seed{{pretrain_seed}}.tsv",
    params:
        length=EN_STUDY["corpus"]["length"],
        max_windows=f"--max-windows {EN_STUDY['corpus']['max_windows']}" if EN_STUDY["corpus"]["max_windows"] else "",
        val=EN_STUDY["corpus"]["val_fraction"],
    log:
        f"{EN}/logs/corpus_seed{{pretrain_seed}}.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm enbed-corpus --genomes {input:q} --length {params.length} {params.max_windows}"
        " --val-fraction {params.val} --seed {wildcards.pretrain_seed} --out {output.shards:q} --qc {output.qc:q} > {log:q} 2>&1"


register_training_rule("enbed_pretrain", "enbed", lambda wc: f"pretrain/{wc.architecture}/seed{wc.pretrain_seed}")


use rule genolm_train as enbed_pretrain with:
    input:
        shards=f"{EN}/shards/seed{{pretrain_seed}}/corpus",
    output:
        weights=f"{EN}/pretrain/{{architecture}}/seed{{pretrain_seed}}/model/model.safetensors",
        metrics=f"{EN}/pretrain/{{architecture}}/seed{{pretrain_seed}}/metrics.parquet",
    params:
        job_dir=lambda wc: f"{EN}/pretrain/{wc.architecture}/seed{wc.pretrain_seed}",
        plots=lambda wc: f"{RESULTS}/plots/enbed/pretrain_{wc.architecture}/seed{wc.pretrain_seed}",
        spec=lambda wc: canonical_json(en_specs.pretraining_spec(EN_STUDY, wc.architecture)),
        seed=lambda wc: wc.pretrain_seed,
        study="enbed",
        task="pretraining",
        experiment=lambda wc: f"pretrain/{wc.architecture}",
        options=lambda wc: shlex.join(["--model-name", wc.architecture, "--tokenizer-name",
                                       EN_STUDY["architectures"][wc.architecture]["tokenizer"]["name"]]),
        tracking=lambda wc: tracking_args("enbed_pretrain", wc.pretrain_seed, wc.pretrain_seed, architecture=wc.architecture),
    log:
        f"{EN}/logs/pretrain_{{architecture}}_seed{{pretrain_seed}}.log",
    threads: EN_THREADS


rule enbed_pairs:
    input:
        fasta=resolve_url(EN_STUDY["mutation_generation"]["fasta"] or "missing.fasta"),
        pairs=resolve_url(EN_STUDY["mutation_generation"]["pairs"] or "missing.tsv"),
    output:
        shards=directory(f"{EN}/shards/split{{split_seed}}/pairs"),
        qc=f"{EN}/qc/pairs_split{{split_seed}}.tsv",
    params:
        region=("--region " + " ".join(map(str, EN_STUDY["mutation_generation"]["region"]))
                if EN_STUDY["mutation_generation"]["region"] else ""),
        similarity=EN_STUDY["mutation_generation"]["similarity"],
        val=EN_STUDY["mutation_generation"]["val_fraction"],
        test=EN_STUDY["mutation_generation"]["test_fraction"],
    log:
        f"{EN}/logs/pairs_split{{split_seed}}.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm enbed-pairs --fasta {input.fasta:q} --pairs {input.pairs:q} {params.region}"
        " --similarity {params.similarity} --val-fraction {params.val}"
        " --test-fraction {params.test} --seed {wildcards.split_seed} --out {output.shards:q} --qc {output.qc:q} > {log:q} 2>&1"


rule enbed_reconstruction:
    input:
        corpus=f"{EN}/shards/seed{{pretrain_seed}}/corpus",
    output:
        shards=directory(f"{EN}/shards/seed{{pretrain_seed}}/reconstruction"),
        qc=f"{EN}/qc/reconstruction_seed{{pretrain_seed}}.tsv",
    params:
        length=EN_STUDY["mutation_generation"]["length"],
        sizes=en_reconstruction_args(),
    log:
        f"{EN}/logs/reconstruction_seed{{pretrain_seed}}.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm enbed-reconstruction --corpus {input.corpus:q} --length {params.length}"
        " {params.sizes} --seed {wildcards.pretrain_seed} --out {output.shards:q} --qc {output.qc:q} > {log:q} 2>&1"


register_training_rule("enbed_reconstruction_pretrain", "enbed",
                       lambda wc: f"pretrain_reconstruction/{wc.architecture}/seed{wc.pretrain_seed}")


use rule genolm_train as enbed_reconstruction_pretrain with:
    input:
        shards=f"{EN}/shards/seed{{pretrain_seed}}/reconstruction",
    output:
        weights=f"{EN}/pretrain_reconstruction/{{architecture}}/seed{{pretrain_seed}}/model/model.safetensors",
        metrics=f"{EN}/pretrain_reconstruction/{{architecture}}/seed{{pretrain_seed}}/metrics.parquet",
    params:
        job_dir=lambda wc: f"{EN}/pretrain_reconstruction/{wc.architecture}/seed{wc.pretrain_seed}",
        plots=lambda wc: f"{RESULTS}/plots/enbed/pretrain_reconstruction_{wc.architecture}/seed{wc.pretrain_seed}",
        spec=lambda wc: canonical_json(en_specs.reconstruction_spec(EN_STUDY, wc.architecture)),
        seed=lambda wc: wc.pretrain_seed,
        study="enbed",
        task="pretraining",
        experiment=lambda wc: f"pretrain_reconstruction/{wc.architecture}",
        options=lambda wc: shlex.join(["--model-name", wc.architecture, "--tokenizer-name",
                                       EN_STUDY["architectures"][wc.architecture]["tokenizer"]["name"]]),
        tracking=lambda wc: tracking_args("enbed_reconstruction_pretrain", wc.pretrain_seed, wc.pretrain_seed,
                                          architecture=wc.architecture),
    log:
        f"{EN}/logs/pretrain_reconstruction_{{architecture}}_seed{{pretrain_seed}}.log",
    threads: EN_THREADS


rule enbed_noise:
    input:
        corpus=f"{EN}/shards/seed{{pretrain_seed}}/corpus",
    output:
        shards=directory(f"{EN}/shards/split{{split_seed}}_corpus{{pretrain_seed}}/noise"),
        qc=f"{EN}/qc/noise_split{{split_seed}}_corpus{{pretrain_seed}}.tsv",
    params:
        sizes=en_noise_args(),
        model=shlex.quote(canonical_json(EN_STUDY["noise_identification"]["noise_model"])),
    log:
        f"{EN}/logs/noise_split{{split_seed}}_corpus{{pretrain_seed}}.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm enbed-noise --corpus {input.corpus:q} {params.sizes} --model {params.model}"
        " --seed {wildcards.split_seed} --out {output.shards:q} --qc {output.qc:q} > {log:q} 2>&1"


rule enbed_annotation:
    input:
        gtf=resolve_url(EN_STUDY["function_annotation"]["gtf"] or "missing.gtf"),
        assembly=resolve_url(EN_STUDY["function_annotation"]["assembly"] or "missing.fa"),
    output:
        shards=directory(f"{EN}/shards/split{{split_seed}}/annotation"),
        qc=f"{EN}/qc/annotation_split{{split_seed}}.tsv",
    params:
        sizes=en_annotation_args(),
        classes=" ".join(EN_STUDY["function_annotation"]["classes"]),
        max_per_class=(f"--max-per-class {EN_STUDY['function_annotation']['max_per_class']}"
                       if EN_STUDY["function_annotation"]["max_per_class"] else ""),
    log:
        f"{EN}/logs/annotation_split{{split_seed}}.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm enbed-annotation --gtf {input.gtf:q} --assembly {input.assembly:q} --classes {params.classes}"
        " {params.sizes} {params.max_per_class}"
        " --seed {wildcards.split_seed} --out {output.shards:q} --qc {output.qc:q} > {log:q} 2>&1"


rule enbed_benchmark:
    input:
        table=f"{RES}/benchmarks/{{task}}.parquet",
    output:
        shards=directory(f"{EN}/shards/benchmark/{{task}}/{{fold}}"),
        qc=f"{EN}/qc/benchmark_{{task}}_{{fold}}.tsv",
    wildcard_constraints:
        fold=r"val_split\d+|fold\d+",
    params:
        # folds are drawn once with `seed`; a held-out val split with its replicate's split seed
        seed=lambda wc: SEED if wc.fold.startswith("fold") else wc.fold.removeprefix("val_split"),
        folds=lambda wc: (f"--folds {EN_STUDY['benchmarks'][wc.task]['folds']} --fold {wc.fold.removeprefix('fold')}"
                          if wc.fold.startswith("fold") else f"--val-fraction {EN_STUDY['benchmarks'][wc.task]['val_fraction']}"),
        length=lambda wc: EN_STUDY["benchmarks"][wc.task]["length"],
    log:
        f"{EN}/logs/benchmark_{{task}}_{{fold}}.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm benchmark-shards --table {input.table:q} {params.folds} --max-length {params.length}"
        " --seed {params.seed} --out {output.shards:q} --qc {output.qc:q} > {log:q} 2>&1"


register_training_rule("enbed_train", "enbed", lambda wc: f"runs/{wc.task}/{wc.experiment}/{wc.run}")


use rule genolm_train as enbed_train with:
    input:
        unpack(en_train_inputs),
    output:
        metrics=f"{EN}/runs/{{task}}/{{experiment}}/{{run}}/metrics.parquet",
    wildcard_constraints:
        run=r"seed\d+|fold\d+",
        experiment=en_experiment_pattern(),
    params:
        seed=lambda wc: en_run_seed(wc.run),
        job_dir=lambda wc: en_run_dir(wc.task, wc.experiment, wc.run),
        plots=lambda wc: f"{RESULTS}/plots/enbed/{wc.task}/{wc.experiment}/{wc.run}",
        spec=en_train_spec,
        study="enbed",
        task=lambda wc: wc.task,
        experiment=en_experiment_column,
        options=lambda wc: " ".join(filter(None, [en_fold_argument(wc), shlex.join(
            ["--model-name", en_specs.model_name(EN_STUDY, wc.task, wc.experiment),
             "--tokenizer-name", en_specs.tokenizer_name(EN_STUDY, wc.task, wc.experiment)])])),
        tracking=lambda wc: tracking_args("enbed_train", en_run_pretrain_seed(wc), en_run_split_seed(wc.run), task=wc.task,
                                          experiment=wc.experiment, run=wc.run),
    log:
        f"{EN}/logs/train_{{task}}_{{experiment}}_{{run}}.log",
    threads: EN_THREADS


rule enbed_rank_candidates:
    """The paper's top-1: a generation run's candidates ranked by its replicate's noise classifier
    (mutation_generation.noise_ranking)."""
    input:
        generation=f"{EN}/runs/mutation_generation/{{experiment}}/{{run}}/metrics.parquet",
        classifier=lambda wc: f"{en_run_dir('noise_identification', EN_STUDY['mutation_generation']['noise_ranking']['classifier'], wc.run)}/metrics.parquet",
    output:
        metrics=f"{EN}/runs/mutation_generation/{{experiment}}+noise-rank/{{run}}/metrics.parquet",
    wildcard_constraints:
        experiment="|".join(re.escape(n) for n in en_ranked_experiments()) or "(?!)",
        run=r"seed\d+",
    params:
        job_dir=lambda wc: en_run_dir("mutation_generation", f"{wc.experiment}+noise-rank", wc.run),
        generation_job=lambda wc, input: str(Path(input.generation).parent),
        classifier=lambda wc, input: str(Path(input.classifier).parent / "model"),
        tracking=lambda wc: tracking_args("enbed_rank_candidates", en_compared_pretrain_seed(f"mutation_generation/{wc.experiment}", en_run_seed(wc.run)),
                                          en_run_split_seed(wc.run), task="mutation_generation",
                                          experiment=f"{wc.experiment}+noise-rank", run=wc.run),
    log:
        f"{EN}/logs/rank_candidates_{{experiment}}_{{run}}.log",
    threads: EN_THREADS
    resources:
        **accelerator_resources(),
    conda:
        "../../../envs/train.yaml"
    shell:
        "python -m genolm enbed-rank-candidates --generation-job {params.generation_job:q} --classifier {params.classifier:q}"
        " --experiment mutation_generation/{wildcards.experiment}+noise-rank --out {params.job_dir:q}"
        " {params.tracking} > {log:q} 2>&1"


rule enbed_attention_maps:
    """The paper's Figure 2: a pretrained architecture's attention heads (attention_maps), the first replicate's."""
    input:
        weights=lambda wc: f"{EN}/pretrain/{wc.architecture}/seed{en_replicate(f'seed{SEEDS[0]}').pretrain_seed}/model/model.safetensors",
        corpus=lambda wc: f"{EN}/shards/seed{en_replicate(f'seed{SEEDS[0]}').pretrain_seed}/corpus",
    output:
        plot=report(f"{RESULTS}/plots/enbed/attention_{{architecture}}.png", caption="../../report/enbed_attention.rst",
                    category="enbed", subcategory="figures"),
        maps=f"{EN}/attention/{{architecture}}.npz",
    wildcard_constraints:
        architecture="|".join(re.escape(n) for n in EN_STUDY["attention_maps"]["architectures"]) or "(?!)",
    params:
        model=lambda wc, input: str(Path(input.weights).parent),
        length=EN_STUDY["attention_maps"]["length"],
        layer=EN_STUDY["attention_maps"]["layer"],
    log:
        f"{EN}/logs/attention_{{architecture}}.log",
    conda:
        "../../../envs/train.yaml"
    shell:
        "python -m genolm attention-maps --model {params.model:q} --sequences {input.corpus:q} --length {params.length}"
        " --layer {params.layer} --plot {output.plot:q} --out {output.maps:q} > {log:q} 2>&1"


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
