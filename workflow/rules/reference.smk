# Reference genome: uppercase, canonical (UCSC) names, bgzipped and indexed (.fai + .gzi); and the somatic mutations checked against it.


rule prepare_reference:
    input:
        lambda wc: source_file(wc.source, STUDY["reference_file"]),
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
        mutations=lambda wc: source_file(wc.source, STUDY["mutations_file"]),
        samples=lambda wc: source_file(wc.source, STUDY["samples_file"]),
        reference=f"{RES}/reference/{STUDY.get('reference_source', 'grch38')}/genome.fa.gz",
    output:
        mutations=f"{RES}/{{source}}/mutations.parquet",
        samples=f"{RES}/{{source}}/samples.parquet",
        qc=f"{RES}/{{source}}/qc.tsv",
    params:
        format=STUDY.get("mutation_format", "auto"),
        chromosomes=lambda wc: shlex.quote(
            STUDY["chromosomes"] if isinstance(STUDY["chromosomes"], str) else ",".join(STUDY["chromosomes"])
        ),
        max_mismatch=STUDY.get("max_ref_mismatch_fraction", 0.01),
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
