# Study 2: small transformers (Longformer, Longalbert) pretrained on mitochondrial and human genomes, fine-tuned on
# 12S species classification. Its Python home is src/genolm/studies/small_transformers; the study and its demo:
# docs/studies/small_transformers.md.
#
#   st_mito_corpus (genomes split by genome) / st_reference_corpus (windows split by chromosome)
#     -> st_pretrain (tokenizer learnt on the corpus, MLM or MLM + SOP; once per job)
#   st_species_dataset (one 12S per species + corrupted copies, 81/9/10) -> st_species_spec
#     -> st_species_finetune (per experiment and seed: mito / untrained / hg38 init, k-mer LR baseline)
#   st_tss_dataset (per organism: EPDnew BED + assembly -> strand-aware TSS windows) -> st_tss_finetune (per
#     experiment and seed, trained on one organism) -> st_tss_evaluate (accuracy per organism, position prior)
#   st_chromatin_dataset (DeepSEA .mat -> shards with label vectors) -> st_chromatin_spec -> st_chromatin_finetune
#     (multi-label head; k-mer LR per label as baseline)
#   -> st_tables (the thesis' Tables 5.1-5.4 beside its numbers; a figure per task with the seed spread)
# Replicate seed<N> draws its corpora and pretraining (seed<P>) and its 12S and TSS splits (split<S>) with N where the
# study's `replicate` block says so (genolm.replicates); the DeepSEA files carry their own, published split.

include: "small_transformers/common.smk"


if ST_STUDY["enabled"]:
    for st_corpus_spec in ST_STUDY["corpora"].values():
        if st_corpus_spec["kind"] == "reference":
            REFERENCE_FILES[st_corpus_spec["source"]] = st_corpus_spec["file"]
    for st_organism in st_tss_organisms():
        st_assembly = ST_TSS["organisms"][st_organism]["assembly"]
        if REFERENCE_FILES.setdefault(st_assembly["source"], st_assembly["file"]) != st_assembly["file"]:
            raise ValueError(f"studies.small_transformers.tss.organisms.{st_organism}.assembly: source "
                             f"{st_assembly['source']!r} is already prepared from {REFERENCE_FILES[st_assembly['source']]!r}")
    METRIC_TABLES["small_transformers"] = st_pretraining_metrics() + st_species_runs() + st_tss_runs() + st_chromatin_runs()
    REPORT_TABLES["small_transformers"] = {"paper_tables": f"{RESULTS}/tables/small_transformers/paper_tables.md"}
    FINAL_OUTPUTS["small_transformers"] = METRIC_TABLES["small_transformers"] + [
        f"{RESULTS}/tables/small_transformers/paper_tables.md",
        f"{RESULTS}/tables/small_transformers/paper_tables.tsv",
    ] + [f"{RESULTS}/plots/small_transformers/{task}.png" for task in st_figure_tasks()]
    if st_species_corpora():
        FINAL_OUTPUTS["small_transformers"] += [f"{ST}/qc/seed{seed}/leak_check_species.tsv" for seed in SEEDS]
    if ST_STUDY["comparisons"]:
        REPORT_TABLES["small_transformers"]["comparisons"] = f"{RESULTS}/tables/small_transformers/comparisons.md"
        FINAL_OUTPUTS["small_transformers"] += comparison_outputs("small_transformers")


rule small_transformers:
    """`make small_transformers`: this study alone, with its own slice of the results table."""
    input:
        study_outputs("small_transformers"),


rule small_transformers_comparisons:
    """The study's pre-registered comparisons (config `comparisons`; arms are the 12S species task's experiments)
    over its seeds; each test example's unit is its species record (the species shards' `sample`)."""
    input:
        runs=comparison_inputs(ST_STUDY["comparisons"], st_species_job_dir),
        shards=[f"{st_species_dir(seed)}/shards" for seed in SEEDS],
    output:
        tsv=f"{RESULTS}/tables/small_transformers/comparisons.tsv",
        md=f"{RESULTS}/tables/small_transformers/comparisons.md",
        plot=report(f"{RESULTS}/plots/small_transformers/comparisons.png", caption="../../report/comparisons.rst",
                    category="small_transformers", subcategory="figures"),
    params:
        comparisons=canonical_json(ST_STUDY["comparisons"]),
        # each run's species are looked up in its own replicate's shards
        runs=comparison_runs(ST_STUDY["comparisons"], st_species_job_dir, st_arm_pretrain_seed, ST_STUDY,
                             lambda seed: f"{st_species_dir(seed)}/shards"),
    log:
        f"{ST}/logs/small_transformers_comparisons.log",
    conda:
        "../../../envs/train.yaml"
    shell:
        "python -m genolm compare --comparisons {params.comparisons:q} {params.runs}"
        " --group-column sample --out-tsv {output.tsv:q}"
        " --out-md {output.md:q} --plot {output.plot:q} --title small_transformers > {log:q} 2>&1"


rule st_species_leak_check:
    """Leak check: each 12S test species' k-mer containment in the corpora its experiments were pretrained on."""
    input:
        test=lambda wc: f"{st_species_dir(wc.seed)}/shards",
        corpora=lambda wc: [f"{ST}/corpus/seed{st_replicate(wc.seed).pretrain_seed}/{name}" for name in st_species_corpora()],
    output:
        qc=f"{ST}/qc/seed{{seed}}/leak_check_species.tsv",
    params:
        args=shlex.join(["--k", str(ST_STUDY["leak_check"]["k"]), "--scaled", str(ST_STUDY["leak_check"]["scaled"]),
                         "--max-containment", str(ST_STUDY["leak_check"]["max_containment"])]),
    log:
        f"{ST}/logs/leak_check_species_seed{{seed}}.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm leak-check --test {input.test:q} --test-split test --unit-column sample"
        " --against {input.corpora:q} --against-split train --against-split val {params.args}"
        " --qc {output.qc:q} > {log:q} 2>&1"


rule st_mito_corpus:
    input:
        st_mito_manifest,
    output:
        shards=directory(f"{ST}/corpus/seed{{pretrain_seed}}/{{corpus}}"),
        qc=f"{ST}/qc/corpus_{{corpus}}_seed{{pretrain_seed}}.tsv",
    wildcard_constraints:
        corpus=st_corpus_names("mito"),
    params:
        args=lambda wc: shlex.join(
            ["--window", str(st_corpus(wc)["window"]), "--stride", str(st_corpus(wc)["stride"] or st_corpus(wc)["window"]),
             "--min-length", str(st_corpus(wc)["min_length"]), "--test-fraction", str(st_corpus(wc)["test_fraction"]),
             "--val-fraction", str(st_corpus(wc)["val_fraction"])]
            + (["--max-genomes", str(st_corpus(wc)["max_genomes"])] if st_corpus(wc)["max_genomes"] else [])
        ),
    log:
        f"{ST}/logs/mito_corpus_{{corpus}}_seed{{pretrain_seed}}.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm mito-corpus --listed-manifest {input:q} {params.args} --seed {wildcards.pretrain_seed}"
        " --out {output.shards:q} --qc {output.qc:q} > {log:q} 2>&1"


rule st_reference_corpus:
    input:
        reference=lambda wc: st_reference(st_corpus(wc)),
    output:
        shards=directory(f"{ST}/corpus/seed{{pretrain_seed}}/{{corpus}}"),
        qc=f"{ST}/qc/corpus_{{corpus}}_seed{{pretrain_seed}}.tsv",
    wildcard_constraints:
        corpus=st_corpus_names("reference"),
    params:
        chromosomes=lambda wc: ",".join(st_corpus(wc)["chromosomes"]),
        length=lambda wc: st_corpus(wc)["window"],
        stride=lambda wc: st_corpus(wc)["stride"] or st_corpus(wc)["window"],
        windows=lambda wc: f"--max-windows {st_corpus(wc)['max_windows']}" if st_corpus(wc)["max_windows"] else "",
        splits=st_corpus_split_args,
    log:
        f"{ST}/logs/reference_corpus_{{corpus}}_seed{{pretrain_seed}}.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm reference-windows --reference {input.reference:q} --chromosomes {params.chromosomes}"
        " --length {params.length} --stride {params.stride} {params.windows} --seed {wildcards.pretrain_seed} {params.splits}"
        " --out {output.shards:q} --qc {output.qc:q} > {log:q} 2>&1"


register_training_rule("st_pretrain", "small_transformers", lambda wc: f"pretrain/{wc.pretraining}/seed{wc.pretrain_seed}")


use rule genolm_train as st_pretrain with:
    input:
        shards=lambda wc: f"{ST}/corpus/seed{wc.pretrain_seed}/{ST_STUDY['pretraining'][wc.pretraining]['corpus']}",
    output:
        weights=f"{ST}/pretrain/{{pretraining}}/seed{{pretrain_seed}}/model/model.safetensors",
        metrics=f"{ST}/pretrain/{{pretraining}}/seed{{pretrain_seed}}/metrics.parquet",
        curve=report(f"{RESULTS}/plots/small_transformers/pretrain_{{pretraining}}/seed{{pretrain_seed}}/loss.png",
                     caption="../../report/loss.rst", category="small_transformers", subcategory="figures"),
    params:
        job_dir=lambda wc: f"{ST}/pretrain/{wc.pretraining}/seed{wc.pretrain_seed}",
        plots=lambda wc: f"{RESULTS}/plots/small_transformers/pretrain_{wc.pretraining}/seed{wc.pretrain_seed}",
        spec=lambda wc: canonical_json(st_specs.pretraining_spec(ST_STUDY, wc.pretraining)),
        seed=lambda wc: wc.pretrain_seed,
        study="small_transformers",
        task="pretraining",
        experiment=lambda wc: f"pretrain/{wc.pretraining}",
        options=lambda wc: shlex.join(
            ["--model-name", st_specs.pretraining_spec(ST_STUDY, wc.pretraining)["model"].get("preset", "model"),
             "--tokenizer-name", st_specs.pretraining_tokenizer_name(ST_STUDY, wc.pretraining)]
        ),
        # the corpora's own splits (by genome, by chromosome) are part of the pretraining, drawn with its seed
        tracking=lambda wc: tracking_args("st_pretrain", wc.pretrain_seed, wc.pretrain_seed, pretraining=wc.pretraining),
    wildcard_constraints:
        pretraining=r"[^/]+",
        pretrain_seed=r"\d+",
    log:
        f"{ST}/logs/pretrain_{{pretraining}}_seed{{pretrain_seed}}.log",
    threads: ST_THREADS


rule st_species_dataset:
    input:
        **st_species_markers(),
    output:
        shards=directory(f"{ST}/species/split{{split_seed}}/shards"),
        labels=f"{ST}/species/split{{split_seed}}/labels.json",
        details=f"{ST}/species/split{{split_seed}}/examples.parquet",
        qc=f"{ST}/qc/species_dataset_split{{split_seed}}.tsv",
    params:
        markers=lambda wc, input: (f"--marker-fasta {shlex.quote(input.fasta)}" if "fasta" in input.keys()
                                   else f"--twelve-s {shlex.quote(input.twelve_s)}"),
        args=shlex.join(
            ["--copies", str(ST_STUDY["species"]["copies"]), "--rate", *map(str, ST_STUDY["species"]["rate"]),
             "--split", *shlex.split(split_arg(ST_STUDY["species"]["split"])),
             "--min-length", str(ST_STUDY["species"]["min_length"])]
            + (["--marker-bases", str(ST_STUDY["species"]["marker_bases"])] if ST_STUDY["species"]["marker_bases"] else [])
        ),
    log:
        f"{ST}/logs/species_dataset_split{{split_seed}}.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm species-dataset {params.markers} {params.args} --seed {wildcards.split_seed} --out {output.shards:q}"
        " --labels {output.labels:q} --details {output.details:q} --qc {output.qc:q} > {log:q} 2>&1"


rule st_species_spec:
    input:
        unpack(st_species_spec_inputs),
    output:
        f"{ST}/species/specs/{{experiment}}_seed{{seed}}.yaml",
    params:
        spec=st_species_base_spec,
    log:
        f"{ST}/logs/species_spec_{{experiment}}_seed{{seed}}.log",
    conda:
        "../../../envs/train.yaml"
    shell:
        "python -m genolm species-spec --spec {params.spec:q} --labels {input.labels:q} --out {output:q} > {log:q} 2>&1"


register_training_rule("st_species_finetune", "small_transformers",
                       lambda wc: f"species/runs/{wc.experiment}/seed{wc.seed}")


use rule genolm_train as st_species_finetune with:
    input:
        shards=lambda wc: f"{st_species_dir(wc.seed)}/shards",
        spec=f"{ST}/species/specs/{{experiment}}_seed{{seed}}.yaml",
    output:
        metrics=f"{ST}/species/runs/{{experiment}}/seed{{seed}}/metrics.parquet",
        predictions=f"{ST}/species/runs/{{experiment}}/seed{{seed}}/predictions.parquet",
    params:
        # the spec with the dataset's label names, written by st_species_spec: `--spec @FILE`
        spec=lambda wc, input: f"@{input.spec}",
        seed=lambda wc: wc.seed,
        job_dir=lambda wc: f"{ST}/species/runs/{wc.experiment}/seed{wc.seed}",
        plots=lambda wc: f"{RESULTS}/plots/small_transformers/species_{wc.experiment}/seed{wc.seed}",
        study="small_transformers",
        task="species_12s",
        experiment=lambda wc: wc.experiment,
        options=lambda wc: shlex.join(["--model-name", st_specs.model_name(ST_STUDY, wc.experiment),
                                       "--tokenizer-name", st_specs.tokenizer_name(ST_STUDY, wc.experiment)]),
        tracking=lambda wc: tracking_args("st_species_finetune", st_arm_pretrain_seed(wc.experiment, wc.seed),
                                          st_replicate(wc.seed).split_seed, experiment=wc.experiment, seed=wc.seed),
    log:
        f"{ST}/logs/species_{{experiment}}_seed{{seed}}.log",
    threads: ST_THREADS


rule st_tss_dataset:
    input:
        unpack(st_tss_dataset_inputs),
    output:
        shards=directory(f"{ST}/tss/shards/split{{split_seed}}/{{organism}}"),
        qc=f"{ST}/qc/tss_dataset_split{{split_seed}}_{{organism}}.tsv",
    params:
        args=st_tss_dataset_args,
    wildcard_constraints:
        organism=r"[^/]+",
    log:
        f"{ST}/logs/tss_dataset_split{{split_seed}}_{{organism}}.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm tss-dataset --bed {input.bed:q} --assembly {input.assembly:q} --organism {wildcards.organism}"
        " {params.args} --seed {wildcards.split_seed} --out {output.shards:q} --qc {output.qc:q} > {log:q} 2>&1"


register_training_rule("st_tss_finetune", "small_transformers",
                       lambda wc: f"tss/runs/{wc.experiment}/seed{wc.seed}")


use rule genolm_train as st_tss_finetune with:
    input:
        shards=lambda wc: st_tss_shards(st_tss_train_organism(), wc.seed),
        weights=lambda wc: f"{st_pretrain_dir(ST_TSS['experiments'][wc.experiment]['init_from'], wc.seed)}/model.safetensors",
    output:
        metrics=f"{ST}/tss/runs/{{experiment}}/seed{{seed}}/metrics.parquet",
        model=f"{ST}/tss/runs/{{experiment}}/seed{{seed}}/model/head.safetensors",
    params:
        seed=lambda wc: wc.seed,
        job_dir=lambda wc: f"{ST}/tss/runs/{wc.experiment}/seed{wc.seed}",
        plots=lambda wc: f"{RESULTS}/plots/small_transformers/tss_{wc.experiment}/seed{wc.seed}",
        spec=st_tss_spec,
        study="small_transformers",
        task="tss_localization",
        experiment=lambda wc: f"tss/{wc.experiment}",
        options=lambda wc: shlex.join(["--model-name", st_specs.task_model_name(ST_STUDY, "tss", wc.experiment),
                                       "--tokenizer-name", st_specs.task_tokenizer_name(ST_STUDY, "tss", wc.experiment)]),
        tracking=lambda wc: tracking_args("st_tss_finetune", st_arm_pretrain_seed(wc.experiment, wc.seed, "tss"),
                                          st_replicate(wc.seed).split_seed, experiment=wc.experiment, seed=wc.seed),
    log:
        f"{ST}/logs/tss_{{experiment}}_seed{{seed}}.log",
    threads: ST_THREADS


rule st_tss_evaluate:
    input:
        metrics=f"{ST}/tss/runs/{{experiment}}/seed{{seed}}/metrics.parquet",
        model=f"{ST}/tss/runs/{{experiment}}/seed{{seed}}/model/head.safetensors",
        train=lambda wc: st_tss_shards(st_tss_train_organism(), wc.seed),
        organisms=lambda wc: [st_tss_shards(organism, wc.seed) for organism in st_tss_organisms()],
    output:
        f"{ST}/tss/runs/{{experiment}}/seed{{seed}}/organisms.parquet",
    params:
        job_dir=lambda wc: f"{ST}/tss/runs/{wc.experiment}/seed{wc.seed}",
        organisms=st_tss_organism_args,
    log:
        f"{ST}/logs/tss_evaluate_{{experiment}}_seed{{seed}}.log",
    threads: ST_THREADS
    conda:
        "../../../envs/train.yaml"
    shell:
        "python -m genolm tss-evaluate --job-dir {params.job_dir:q} --organism {params.organisms}"
        " --train-shards {input.train:q} --out {output:q} > {log:q} 2>&1"


rule st_chromatin_dataset:
    input:
        **st_chromatin_inputs(),
    output:
        shards=directory(f"{ST}/chromatin/shards"),
        labels=f"{ST}/chromatin/labels.json",
        qc=f"{ST}/qc/chromatin_dataset.tsv",
    params:
        seed=SEED,
        files=lambda wc, input: shlex.join([arg for split in ("bundle", "train", "val", "test") if split in input.keys()
                                            for arg in (f"--{split}", input[split])]),
        args=st_chromatin_dataset_args(),
    log:
        f"{ST}/logs/chromatin_dataset.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm chromatin-dataset {params.files} {params.args} --seed {params.seed} --out {output.shards:q}"
        " --labels {output.labels:q} --qc {output.qc:q} > {log:q} 2>&1"


register_training_rule("st_chromatin_finetune", "small_transformers",
                       lambda wc: f"chromatin/runs/{wc.experiment}/seed{wc.seed}")


use rule genolm_train as st_chromatin_finetune with:
    input:
        shards=f"{ST}/chromatin/shards",
        weights=lambda wc: f"{st_pretrain_dir(ST_CHROMATIN['experiments'][wc.experiment]['init_from'], wc.seed)}/model.safetensors",
    output:
        metrics=f"{ST}/chromatin/runs/{{experiment}}/seed{{seed}}/metrics.parquet",
    wildcard_constraints:
        experiment=st_chromatin_names(baseline=False),
    params:
        seed=lambda wc: wc.seed,
        job_dir=lambda wc: f"{ST}/chromatin/runs/{wc.experiment}/seed{wc.seed}",
        plots=lambda wc: f"{RESULTS}/plots/small_transformers/chromatin_{wc.experiment}/seed{wc.seed}",
        spec=st_chromatin_spec,
        study="small_transformers",
        task="chromatin_profiles",
        experiment=lambda wc: f"chromatin/{wc.experiment}",
        options=lambda wc: shlex.join(
            ["--model-name", st_specs.task_model_name(ST_STUDY, "chromatin", wc.experiment),
             "--tokenizer-name", st_specs.task_tokenizer_name(ST_STUDY, "chromatin", wc.experiment)]),
        # the DeepSEA files' own split: split_seed is the shared `seed` the dataset subsampled with
        tracking=lambda wc: tracking_args("st_chromatin_finetune", st_arm_pretrain_seed(wc.experiment, wc.seed, "chromatin"),
                                          experiment=wc.experiment, seed=wc.seed),
    log:
        f"{ST}/logs/chromatin_{{experiment}}_seed{{seed}}.log",
    threads: ST_THREADS


rule st_chromatin_baseline:
    input:
        shards=f"{ST}/chromatin/shards",
        labels=f"{ST}/chromatin/labels.json",
    output:
        metrics=f"{ST}/chromatin/runs/{{experiment}}/seed{{seed}}/metrics.parquet",
    wildcard_constraints:
        experiment=st_chromatin_names(baseline=True),
    params:
        args=lambda wc: shlex.join(
            ["--k", str(ST_CHROMATIN["experiments"][wc.experiment]["model"].get("k", 6)),
             "--C", str(ST_CHROMATIN["experiments"][wc.experiment]["model"].get("C", 1.0)),
             "--context-length", str(ST_CHROMATIN["context_length"])]
        ),
        split_seed=SEED,
    log:
        f"{ST}/logs/chromatin_{{experiment}}_seed{{seed}}.log",
    conda:
        "../../../envs/train.yaml"
    shell:
        "python -m genolm chromatin-baseline --shards {input.shards:q} --labels {input.labels:q} {params.args}"
        " --seed {wildcards.seed} --split-seed {params.split_seed} --out {output.metrics:q} --study small_transformers --task chromatin_profiles"
        " --experiment chromatin/{wildcards.experiment} > {log:q} 2>&1"


rule st_tables:
    input:
        pretraining=st_pretraining_metrics(),
        species=st_species_runs(),
        tss=st_tss_runs(),
        chromatin=st_chromatin_runs(),
        examples=f"{st_species_dir(SEEDS[0])}/examples.parquet" if ST_STUDY["species"]["enabled"] else [],
    output:
        markdown=f"{RESULTS}/tables/small_transformers/paper_tables.md",
        tsv=f"{RESULTS}/tables/small_transformers/paper_tables.tsv",
        figures=[
            report(f"{RESULTS}/plots/small_transformers/{task}.png", caption=f"../../report/small_transformers_{task}.rst",
                   category="small_transformers", subcategory="figures")
            for task in st_figure_tasks()
        ],
    params:
        languages=canonical_json({name: st_specs.language(ST_STUDY, name) for name in ST_STUDY["species"]["experiments"]}),
        task_languages=shlex.join(
            ["--tss-languages",
             canonical_json({f"tss/{n}": st_specs.task_language(ST_STUDY, "tss", n) for n in st_tss_experiments()}),
             "--chromatin-languages",
             canonical_json({f"chromatin/{n}": st_specs.task_language(ST_STUDY, "chromatin", n) for n in ST_CHROMATIN["experiments"]})]
        ),
        examples=lambda wc, input: f"--examples {shlex.quote(input.examples)}" if input.examples else "",
        figure_dir=lambda wc, output: str(Path(output.figures[0]).parent),
    log:
        f"{ST}/logs/tables.log",
    conda:
        "../../../envs/train.yaml"
    shell:
        "python -m genolm small-transformers-tables --metrics {input.pretraining:q} {input.species:q} {input.tss:q}"
        " {input.chromatin:q}"
        " --languages {params.languages:q} {params.task_languages} {params.examples} --markdown {output.markdown:q} --tsv {output.tsv:q}"
        " --figure-dir {params.figure_dir:q} > {log:q} 2>&1"
