"""Every table and figure of the four papers has jobs in the full-scale plan (issue #28, deliverable 4).

The session's plan of config/full_scale.yaml (conftest.full_scale_plan: `snakemake -n` with the hand-provided
files as empty stand-ins) is read by output paths and by the train spec each training job records in its
parameters, not by rule names. Each paper table maps to requirements; a table whose requirement no planned job
meets fails, naming the table. What genolm cannot produce is listed in NOT_PLANNED with the reason (the config
says the same beside the study). Also: docs/real_data.md's configuration examples validate.
"""

from __future__ import annotations

import copy
import json
import re
import shlex
from dataclasses import dataclass

import pytest
import yaml

from conftest import REPO
from genolm.config import validate_config

NT_TASKS = ["H3", "H3K14ac", "H3K36me3", "H3K4me1", "H3K4me2", "H3K4me3", "H3K79me3", "H3K9ac", "H4", "H4ac",
            "promoter_all", "promoter_no_tata", "promoter_tata", "splice_sites_acceptors", "splice_sites_donors",
            "splice_sites_all", "enhancers", "enhancers_types"]  # ENBED paper Table 8 / Table 12
GB_TASKS = ["dummy_mouse_enhancers_ensembl", "demo_coding_vs_intergenomic_seqs", "demo_human_or_worm",
            "human_enhancers_cohn", "human_enhancers_ensembl", "human_ensembl_regulatory", "human_nontata_promoters",
            "human_ocr_ensembl"]  # ENBED paper Table 9 / Table 11
TSS_ORGANISMS = ["H_sapiens", "M_musculus", "G_gallus", "D_rerio", "D_melanogaster", "C_elegans", "Z_mays",
                 "S_cerevisiae", "P_falciparum"]  # thesis (study 2) Table 5.2

# Tables and figures of the papers that no job produces, and why (the config and docs say the same).
NOT_PLANNED = {
    "study 2 Figures 5.11-5.13 / B.1-B.2": "single hand-picked predictions, not a result of a run",
    "study 4 Figure 3": "phylogenetic tree of the influenza data: input, not a result",
    "study 4 Table 7": "other models' pretraining data: a literature table",
    "study 3 self-genomenet rows": "a published baseline genolm does not implement (k-mer LR and CNN-LSTM run beside it)",
}


@dataclass(frozen=True)
class Job:
    outputs: tuple[str, ...]
    inputs: tuple[str, ...]
    spec: dict | None  # the train spec the job records in its parameters (training jobs)

    def wrote(self, pattern: str) -> bool:
        return any(re.fullmatch(pattern, output) for output in self.outputs)


def _spec(params: list) -> dict | None:
    for value in map(str, params):
        try:
            words = shlex.split(value)
        except ValueError:
            continue
        if len(words) == 1 and words[0].startswith("{"):
            spec = json.loads(words[0])
            if isinstance(spec, dict) and "init" in spec:
                return spec
    return None


@pytest.fixture(scope="module")
def jobs(full_scale_plan) -> list[Job]:
    return [Job(tuple(job["output"]), tuple(job["input"]), _spec(job["params"]))
            for job in full_scale_plan["planned"]["jobs"]]


@pytest.fixture(scope="module")
def config(full_scale_plan) -> dict:
    return full_scale_plan["config"]


def producer_spec(jobs: list[Job], model_dir: str) -> dict | None:
    """The spec of the job that trained the model directory a fine-tuning spec loads."""
    for job in jobs:
        if job.spec is not None and any(output.startswith(model_dir.rstrip("/") + "/") for output in job.outputs):
            return job.spec
    return None


def pretraining_of(jobs: list[Job], job: Job) -> dict:
    model = job.spec.get("model", {})
    return producer_spec(jobs, model["checkpoint"]) if "checkpoint" in model else {"model": model}


def training(spec: dict) -> dict:
    return spec.get("training", {})


# ---- requirements per table: (what, predicate over a job and the list of all jobs) -------------------------------
def _st_pretraining(corpus_kind: str, model: str, words, objective: str):
    def met(job: Job, jobs: list[Job], config: dict) -> bool:
        if job.spec is None or not job.wrote(r"results/small_transformers/pretrain/[^/]+/seed\d+/metrics\.parquet"):
            return False
        corpora = config["studies"]["small_transformers"]["corpora"]
        kinds = {corpora[path.rsplit("/", 1)[1]]["kind"] for path in job.inputs
                 if path.startswith("results/small_transformers/corpus/")}
        tokenizer = job.spec["tokenizer"]
        spec_words = "BB" if tokenizer.get("word_splitting") == "random" else tokenizer.get("k")
        return (kinds == {corpus_kind} and job.spec["model"]["name"] == model and spec_words == words
                and job.spec["objective"]["name"] == objective)
    return f"{corpus_kind} {model} {words}-mer {objective}", met


def _tss_run(init: str, language_of_pretraining: str | None, dropout: float, preset: str = "longformer-small"):
    def met(job: Job, jobs: list[Job], config: dict) -> bool:
        if job.spec is None or not job.wrote(r"results/small_transformers/tss/runs/[^/]+/seed\d+/metrics\.parquet"):
            return False
        pretraining = pretraining_of(jobs, job)
        corpus_ok = language_of_pretraining is None or f"{language_of_pretraining}-" in job.spec["model"].get("checkpoint", "")
        return (job.spec["init"] == init and job.spec["head"]["dropout"] == dropout and corpus_ok
                and pretraining["model"].get("preset") == preset)
    return f"TSS {init} from {language_of_pretraining or 'no pretraining'}, dropout {dropout}, {preset}", met


def _elmo_run(task: str):
    """The thesis' ELMo row of a task: a 2 x 256 biLSTM with fresh weights (never pretrained) on 9-mer tokens."""
    def met(job: Job, jobs: list[Job], config: dict) -> bool:
        if job.spec is None or not job.wrote(rf"results/small_transformers/{task}/runs/[^/]+/seed\d+/metrics\.parquet"):
            return False
        model, tokenizer = job.spec["model"], job.spec["tokenizer"]
        return (job.spec["init"] == "random" and model.get("name") == "bilstm" and model.get("preset") == "elmo-2x256"
                and "checkpoint" not in model and re.search(r"/pretrain/[^/]*9mer/", tokenizer.get("pretrained", "")))
    return f"{task} ELMo (biLSTM 2 x 256, no pretraining, 9-mer tokens)", met


def _chromatin_run(init: str, context_length: int, preset: str = "longformer-small", corpus: str | None = None):
    def met(job: Job, jobs: list[Job], config: dict) -> bool:
        if job.spec is None or not job.wrote(r"results/small_transformers/chromatin/runs/[^/]+/seed\d+/metrics\.parquet"):
            return False
        pretraining = pretraining_of(jobs, job)
        corpus_ok = corpus is None or f"/pretrain/{corpus}-" in job.spec["model"].get("checkpoint", "")
        return (job.spec["init"] == init and job.spec["context_length"] == context_length
                and pretraining is not None and pretraining["model"].get("preset") == preset and corpus_ok)
    return f"chromatin {init} {corpus or ''} {context_length} tokens {preset}", met


def _output(pattern: str, what: str | None = None):
    return what or pattern, lambda job, jobs, config: job.wrote(pattern)


def _virbert_arm(init: str, objective: dict | None, length: int, fraction: str, batch: int | None = None):
    def met(job: Job, jobs: list[Job], config: dict) -> bool:
        if job.spec is None or not job.wrote(rf"results/virbert/runs/[^/]+_L{length}_f{re.escape(fraction)}/seed\d+/metrics\.parquet"):
            return False
        if job.spec["init"] != init or "name" in job.spec["model"] and job.spec["model"]["name"] != "bert":
            return False
        if batch is not None and training(job.spec).get("batch_size", 0) * training(job.spec).get("accumulate_grad_batches", 1) != batch:
            return False
        if "checkpoint" not in job.spec["model"]:
            return objective is None
        pretraining = producer_spec(jobs, job.spec["model"]["checkpoint"])
        return objective is not None and pretraining is not None and pretraining["objective"] == objective
    return f"virBERT {init} {objective} {length} nt labels {fraction}" + (f" batch {batch}" if batch else ""), met


def _virbert_transfer(length: int):
    def met(job: Job, jobs: list[Job], config: dict) -> bool:
        checkpoint = config["studies"]["virbert"]["transfer"]["checkpoint"]
        return (job.spec is not None and job.wrote(rf"results/virbert/runs/[^/]+_L{length}_f[^/]+/seed\d+/metrics\.parquet")
                and job.spec["model"].get("checkpoint") == checkpoint and job.spec["init"] == "pretrained")
    return f"virBERT transfer (released DNABERT-6) at {length} nt", met


def _enbed_pretraining(encoder_layers: int, decoder_layers: int, d_ff: int):
    def met(job: Job, jobs: list[Job], config: dict) -> bool:
        if job.spec is None or not job.wrote(r"results/enbed/pretrain/[^/]+/seed\d+/metrics\.parquet"):
            return False
        model = job.spec["model"]
        layers = (model.get("num_encoder_layers", 0), model.get("num_decoder_layers", model.get("num_layers")))
        return (job.spec["tokenizer"]["name"] == "byte" and layers == (encoder_layers, decoder_layers)
                and model["d_model"] == 1536 and model["d_ff"] == d_ff and model["num_heads"] == 16)
    return f"ENBED pretraining {encoder_layers} encoder / {decoder_layers} decoder layers, d_ff {d_ff}", met


def _cancer_type_run(experiment: str, context_length: int, batch_size: int):
    def met(job: Job, jobs: list[Job], config: dict) -> bool:
        return (job.spec is not None and job.wrote(rf"results/cancer_type/runs/{experiment}/seed\d+/metrics\.parquet")
                and job.spec["context_length"] == context_length + 1 and training(job.spec)["batch_size"] == batch_size)
    return f"{experiment}: {context_length} bases, batch {batch_size}", met


STUDY2_MITO_ROWS = [("longalbert", 6, "mlm"), ("longalbert", 9, "mlm"), ("longalbert", 12, "mlm"),
                    ("longformer", 6, "mlm"), ("longformer", 9, "mlm"), ("longformer", 12, "mlm"),
                    ("longformer", "BB", "mlm"), ("longformer", 6, "sop"), ("longformer", 9, "sop"),
                    ("longformer", 12, "sop"), ("longformer", "BB", "sop")]

TABLES = {
    # Study 1: Spuri 2024 (HyenaDNA, cancer type)
    "study 1 Table 3.6 (fine-tuning experiments; batches: thesis section 3)": [
        _cancer_type_run("1K-main", 1024, 8), _cancer_type_run("32K-main", 32768, 2),
        _cancer_type_run("32K-random", 32768, 2), _cancer_type_run("32K-frozen", 32768, 2)],
    "study 1 Figures 4.1-4.4 / Table 3.3 (UMAP)": [
        _output(r"results/plots/cancer_type/pretrained-medium-450k/seed\d+/umap_chromosome\.png"),
        _output(r"results/plots/cancer_type/pretrained-medium-450k/seed\d+/umap_cancer_type\.png"),
        _output(r"results/cancer_type/embeddings/pretrained-medium-450k_seed\d+\.parquet")],
    "study 1 Figures 4.5-4.6 (32K training and validation loss)": [
        _output(r"results/cancer_type/runs/32K-main/seed\d+/metrics\.parquet")],
    # Study 2: Lorello 2021 (small transformers)
    "study 2 Table 5.1 (pretraining)": [_st_pretraining("mito", *row) for row in STUDY2_MITO_ROWS]
    + [_st_pretraining("reference", "longalbert", 12, "sop"), _st_pretraining("reference", "longformer", 9, "mlm")],
    "study 2 Figures 5.1-5.4 (pretraining curves)": [_output(r"results/plots/small_transformers/pretraining\.png")],
    "study 2 Table B.1 (large Longformer pretraining)": [
        ("mito longformer-large 9-mer mlm",
         lambda job, jobs, config: job.spec is not None and job.wrote(r"results/small_transformers/pretrain/[^/]+/seed\d+/metrics\.parquet")
         and job.spec["model"].get("preset") == "longformer-large" and job.spec["tokenizer"].get("k") == 9)],
    "study 2 Table 5.2 (TSS, nine organisms)": [
        _tss_run("pretrained", "hg38", 0.1),
        *[_output(rf"results/small_transformers/tss/shards/(split\d+/)?{organism}", f"{organism} promoters") for organism in TSS_ORGANISMS],
        _output(r"results/small_transformers/tss/runs/[^/]+/seed\d+/organisms\.parquet")],
    "study 2 Figures 5.5-5.7 (TSS: dropout x pretraining)": [
        _tss_run(init, corpus, dropout) for dropout in (0.0, 0.1, 0.2)
        for init, corpus in (("pretrained", "hg38"), ("pretrained", "mito"), ("random", None))],
    "study 2 Table B.2 (TSS, large Longformer, ELMo)": [_tss_run("pretrained", "mito", 0.1, preset="longformer-large"),
                                                         _elmo_run("tss")],
    "study 2 Table 5.3 / Figures 5.8-5.10 (12S species)": [
        _output(rf"results/small_transformers/species/runs/{name}/seed\d+/metrics\.parquet", f"species {name}")
        for name in ("mito", "untrained", "hg38")],
    "study 2 Table B.3 (12S, large Longformer with the deep head, ELMo)": [
        ("species run from the large Longformer",
         lambda job, jobs, config: any(
             job.wrote(rf"results/small_transformers/species/runs/{name}/seed\d+/metrics\.parquet")
             for name, experiment in config["studies"]["small_transformers"]["species"]["experiments"].items()
             if experiment.get("head", {}).get("hidden_size") == 2048 and config["studies"]["small_transformers"][
                 "pretraining"][experiment["init_from"]]["model"].get("preset") == "longformer-large")),
        ("species ELMo (biLSTM 2 x 256, no pretraining, 9-mer tokens)",  # its spec is a file: read the config
         lambda job, jobs, config: any(
             job.wrote(rf"results/small_transformers/species/runs/{name}/seed\d+/metrics\.parquet")
             for name, experiment in config["studies"]["small_transformers"]["species"]["experiments"].items()
             if experiment.get("model") == {"name": "bilstm", "preset": "elmo-2x256"} and experiment["init"] == "random"
             and experiment["init_from"].endswith("9mer")))],
    "study 2 Table 5.4 / Figures 5.14-5.15 (chromatin)": [
        _chromatin_run("pretrained", 256, corpus="hg38"), _chromatin_run("pretrained", 256, corpus="mito"),
        _chromatin_run("random", 256), _chromatin_run("random", 512), _chromatin_run("random", 1024)],
    "study 2 Table B.4 (chromatin, large Longformer, ELMo)": [_chromatin_run("pretrained", 256, preset="longformer-large"),
                                                              _elmo_run("chromatin")],
    # Study 3: virBERT (paper and Hurmer 2022)
    "study 3 Table A.2 / Figure 4.1 left (pretraining of the three variants)": [
        ("pretraining " + name, lambda job, jobs, config, objective=objective: job.spec is not None
         and job.wrote(r"results/virbert/pretrain/[^/]+/split\d+_seed\d+/metrics\.parquet") and job.spec["objective"] == objective)
        for name, objective in (("virBERT", {"name": "kmer_mlm", "k": 6}),
                                ("mask8", {"name": "kmer_mlm", "k": 6, "variant": "k+2"}),
                                ("stride3", {"name": "strided_mlm"}))],
    "study 3 Table 4.1 / Figure 4.1 right (linear evaluation, 1,000 nt)": [
        _virbert_arm("frozen", objective, 1000, "1") for objective in
        ({"name": "kmer_mlm", "k": 6}, {"name": "kmer_mlm", "k": 6, "variant": "k+2"}, {"name": "strided_mlm"})],
    "study 3 Table 4.2 / paper Table 1 top (150 nt; batch 256: Appendix A.4)": [
        _virbert_arm(init, objective, 150, fraction, batch=256 if objective else None)
        for fraction in ("0.1", "0.01", "0.001")
        for init, objective in (("pretrained", {"name": "kmer_mlm", "k": 6}),
                                ("pretrained", {"name": "kmer_mlm", "k": 6, "variant": "k+2"}),
                                ("pretrained", {"name": "strided_mlm"}), ("random", None))],
    "study 3 Table 4.3 / paper Table 1 bottom (1,000 nt; batch 64: Appendix A.4)": [
        _virbert_arm(init, objective, 1000, fraction, batch=64 if objective else None)
        for fraction in ("0.1", "0.01", "0.001")
        for init, objective in (("pretrained", {"name": "kmer_mlm", "k": 6}),
                                ("pretrained", {"name": "kmer_mlm", "k": 6, "variant": "k+2"}),
                                ("pretrained", {"name": "strided_mlm"}), ("random", None))],
    "study 3 Table 4.4 (transfer from DNABERT-6)": [_virbert_transfer(150), _virbert_transfer(1000)],
    "study 3 Figure (recall against label fraction)": [_output(r"results/plots/virbert/recall_vs_label_fraction\.png")],
    # Study 4: ENBED (Malusare et al. 2024)
    "study 4 pretraining corpus (RefSeq, T2T human and maize, 1000 Genomes)": [
        ("corpus with the 1000 Genomes haplotypes and GRCh38",
         lambda job, jobs, config: job.wrote(r"results/enbed/shards/seed\d+/corpus")
         and "results/enbed/haplotypes" in job.inputs and any("reference/grch38/" in i for i in job.inputs)),
        ("haplotypes from the 1000 Genomes VCFs of 22 autosomes",
         lambda job, jobs, config: job.wrote(r"results/enbed/haplotypes")
         and sum("1kGP_high_coverage_Illumina.chr" in i for i in job.inputs) == 22)],
    "study 4 Figure 2 (attention heads of the pretrained ENBED)": [
        ("attention maps of the pretrained enbed",
         lambda job, jobs, config: job.wrote(r"results/plots/enbed/attention_enbed\.png")
         and any(re.fullmatch(r"results/enbed/pretrain/enbed/seed\d+/model/model\.safetensors", i) for i in job.inputs))],
    "study 4 Tables 1, 10, 12 (Nucleotide Transformer tasks, 10 folds)": [
        _output(rf"results/enbed/runs/{task}/{experiment}/fold{fold}/metrics\.parquet")
        for task in NT_TASKS for experiment in ("ENBED", "ENBED-no-pretraining") for fold in range(1, 11)],
    "study 4 Tables 2, 11 (Genomic Benchmarks)": [
        _output(rf"results/enbed/runs/{task}/{experiment}/seed\d+/metrics\.parquet")
        for task in GB_TASKS for experiment in ("ENBED", "ENBED-no-pretraining")],
    "study 4 Table 3 (erroneous sequence identification)": [
        _output(r"results/enbed/runs/noise_identification/ENBED/seed\d+/metrics\.parquet")],
    "study 4 Table 4 (biological function annotation)": [
        _output(r"results/enbed/runs/function_annotation/ENBED/seed\d+/metrics\.parquet"),
        _output(r"results/enbed/shards/(split\d+/)?annotation")],
    "study 4 Table 5 (mutation generation; Top-1 ranked by the noise classifier)": [
        _output(rf"results/enbed/runs/mutation_generation/{re.escape(name)}/seed\d+/metrics\.parquet")
        for name in ("ENBED", "BPE", "decoder-only", "ENBED+noise-rank", "BPE+noise-rank", "decoder-only+noise-rank")],
    "study 4 Table 6 (architectures)": [
        _enbed_pretraining(24, 12, 3850), _enbed_pretraining(12, 12, 3584), _enbed_pretraining(0, 24, 3584)]
    + [_output(rf"results/enbed/runs/mutation_generation/{re.escape(name)}/seed\d+/metrics\.parquet")
       for name in ("ENBED", "1to1", "decoder-only", "1to1+noise-rank")],
}


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_paper_table_has_its_jobs_in_the_full_scale_plan(jobs, config, table):
    missing = [what for what, met in TABLES[table] if not any(met(job, jobs, config) for job in jobs)]
    assert not missing, f"{table}: no planned job for {missing}"


def test_the_12s_classes_are_mitofish_species_only(jobs):
    """Thesis 4.2.3: one class per species of MitoFish; the 12S table reads no NCBI organelle release."""
    (prepare,) = [job for job in jobs if job.wrote(r"resources/mito/12s\.parquet")]
    assert prepare.inputs and all("/downloads/mitofish/" in path for path in prepare.inputs), prepare.inputs


def test_the_requirements_are_not_met_by_an_unrelated_job(jobs, config):
    """The predicates read the jobs' specs: a planned job of another table meets none of Table 5.4's."""
    pretraining = next(job for job in jobs
                       if job.wrote(r"results/small_transformers/pretrain/mito-longformer-9mer/seed\d+/metrics\.parquet"))
    for table in ("study 2 Table 5.4 / Figures 5.14-5.15 (chromatin)", "study 3 Table 4.1 / Figure 4.1 right (linear evaluation, 1,000 nt)"):
        assert not any(met(pretraining, jobs, config) for _, met in TABLES[table])


def _yaml_examples(markdown: str) -> list[str]:
    return re.findall(r"^```yaml\n(.*?)^```", markdown, flags=re.S | re.M)


def _merged(base, fragment):
    if isinstance(base, dict) and isinstance(fragment, dict):
        return {**base, **{key: _merged(base[key], value) if key in base else value for key, value in fragment.items()}}
    return fragment


@pytest.mark.parametrize("index", range(len(_yaml_examples((REPO / "docs" / "real_data.md").read_text()))))
def test_real_data_config_examples_validate(index):
    """Each configuration example of docs/real_data.md, merged over config/full_scale.yaml (an example shows one
    block; the rest of a lab's configuration is the full-scale one), passes the schema and its cross-checks. An
    example that is a fragment of one source entry (it starts with a file name) is checked under that source."""
    example = yaml.safe_load(_yaml_examples((REPO / "docs" / "real_data.md").read_text())[index])
    base = yaml.safe_load((REPO / "config" / "full_scale.yaml").read_text())
    top_level = set(yaml.safe_load((REPO / "src/genolm/schemas/config.schema.yaml").read_text())["properties"])
    if not set(example) <= top_level:  # a source's files entry, e.g. OmicsSomaticMutations.csv with its md5
        owners = [name for name, source in base["sources"].items() if set(example) <= set(source.get("files", {}))]
        assert owners, f"example {index} is neither a configuration nor files of a source: {sorted(example)}"
        example = {"sources": {owners[0]: {"files": example}}}
    validate_config(_merged(copy.deepcopy(base), example), source=f"docs/real_data.md example {index}")
