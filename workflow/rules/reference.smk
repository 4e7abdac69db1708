# Reference genome: uppercase, canonical (UCSC) names, bgzipped and indexed (.fai + .gzi); and the somatic mutations
# checked against it. Which file of a source is the genome, and how a mutation source is read, is registered by the
# studies that need them (REFERENCE_FILES, MUTATION_SETS in common.smk).


rule prepare_reference:
    input:
        lambda wc: source_file(wc.source, REFERENCE_FILES[wc.source]),
    output:
        fasta=f"{RES}/reference/{{source}}/genome.fa.gz",
        fai=f"{RES}/reference/{{source}}/genome.fa.gz.fai",
        gzi=f"{RES}/reference/{{source}}/genome.fa.gz.gzi",
        aliases=f"{RES}/reference/{{source}}/genome.fa.gz.aliases.tsv",
        qc=f"{RES}/reference/{{source}}/qc.tsv",
    log:
        f"{RES}/logs/prepare_reference/{{source}}.log",
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../../envs/data.yaml"
    shell:
        "python -m genolm prepare-reference --source {input:q} --out {output.fasta:q} --chromosomes all"
        " --qc {output.qc:q} > {log:q} 2>&1"


rule prepare_mutations:
    input:
        mutations=lambda wc: source_file(wc.source, MUTATION_SETS[wc.source]["mutations"]),
        samples=lambda wc: source_file(wc.source, MUTATION_SETS[wc.source]["samples"]),
        reference=lambda wc: f"{RES}/reference/{MUTATION_SETS[wc.source]['reference_source']}/genome.fa.gz",
    output:
        mutations=f"{RES}/{{source}}/mutations.parquet",
        samples=f"{RES}/{{source}}/samples.parquet",
        qc=f"{RES}/{{source}}/qc.tsv",
    params:
        format=lambda wc: MUTATION_SETS[wc.source]["format"],
        chromosomes=lambda wc: chromosome_arg(MUTATION_SETS[wc.source]["chromosomes"]),
        max_mismatch=lambda wc: MUTATION_SETS[wc.source]["max_ref_mismatch_fraction"],
    log:
        f"{RES}/logs/prepare_mutations/{{source}}.log",
    resources:
        mem_mb=8000,
        runtime=60,
    conda:
        "../../envs/data.yaml"
    shell:
        "python -m genolm prepare-mutations --mutations {input.mutations:q} --format {params.format}"
        " --samples {input.samples:q} --reference {input.reference:q} --chromosomes {params.chromosomes}"
        " --max-ref-mismatch-fraction {params.max_mismatch}"
        " --out-mutations {output.mutations:q} --out-samples {output.samples:q} --qc {output.qc:q} > {log:q} 2>&1"
