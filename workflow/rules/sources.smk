# Multi-species sources: RefSeq assemblies, mitochondrial 12S genes, viral genomes with phage labels, benchmark
# suites. Downloads are local rules (compute nodes often have no internet); each normalization is one
# `genolm` command. Every path carries its source's release, so a new release reruns that source only.


rule download_listed:
    output:
        f"{RES}/downloads/{{source}}/{{release}}/listed/files.tsv",
    params:
        args=listing_params,
        out_dir=lambda wc, output: str(Path(output[0]).parent),
    log:
        f"{RES}/logs/download_listed/{{source}}/{{release}}.log",
    localrule: True
    retries: 2
    conda:
        "../../envs/data.yaml"
    shell:
        "python -m genolm download-listed {params.args} --out-dir {params.out_dir:q} > {log:q} 2>&1"


if "refseq" in DATASETS:

    rule download_assemblies:
        input:
            summary=source_file(DATASETS["refseq"]["source"], DATASETS["refseq"]["summary_file"]),
        output:
            manifest=refseq_manifest(),
            qc=f"{RES}/refseq/selection_qc.tsv",
        params:
            selection=refseq_selection_params(),
            out_dir=lambda wc, output: str(Path(output.manifest).parent),
        log:
            f"{RES}/logs/download_assemblies.log",
        localrule: True
        retries: 2
        conda:
            "../../envs/data.yaml"
        shell:
            "python -m genolm download-assemblies --summary {input.summary:q} {params.selection}"
            " --out-dir {params.out_dir:q} --qc {output.qc:q} > {log:q} 2>&1"

    rule prepare_assemblies:
        input:
            refseq_manifest(),
        output:
            table=f"{RES}/refseq/assemblies.parquet",
            genomes=directory(f"{RES}/refseq/genomes"),
            qc=f"{RES}/refseq/qc.tsv",
        log:
            f"{RES}/logs/prepare_assemblies.log",
        conda:
            "../../envs/data.yaml"
        shell:
            "python -m genolm prepare-assemblies --downloads {input:q} --out-dir {output.genomes:q}"
            " --table {output.table:q} --qc {output.qc:q} > {log:q} 2>&1"


if "mito" in DATASETS:

    rule prepare_mito:
        input:
            unpack(lambda wc: mito_inputs()),
        output:
            table=f"{RES}/mito/12s.parquet",
            qc=f"{RES}/mito/qc.tsv",
        params:
            ncbi=lambda wc, input: f"--ncbi-manifest {shlex.quote(input.ncbi)}" if "ncbi" in input.keys() else "",
            zip=zip_limit_args(),
        log:
            f"{RES}/logs/prepare_mito.log",
        conda:
            "../../envs/data.yaml"
        shell:
            "python -m genolm prepare-mito {params.ncbi} --mitofish-genomes {input.genomes:q}"
            " --mitofish-annotations {input.annotations:q} {params.zip} --out {output.table:q} --qc {output.qc:q}"
            " > {log:q} 2>&1"


if "viral" in DATASETS:

    rule prepare_viral:
        input:
            unpack(lambda wc: viral_inputs()),
        output:
            genomes=f"{RES}/viral/genomes.parquet",
            labels=f"{RES}/viral/labels.parquet",
            qc=f"{RES}/viral/qc.tsv",
        params:
            hosts=lambda wc, input: f"--virushostdb {shlex.quote(input.hosts)}" if "hosts" in input.keys() else "",
        log:
            f"{RES}/logs/prepare_viral.log",
        conda:
            "../../envs/data.yaml"
        shell:
            "python -m genolm prepare-viral --manifest {input.manifest:q} {params.hosts}"
            " --out-genomes {output.genomes:q} --out-labels {output.labels:q} --qc {output.qc:q} > {log:q} 2>&1"


register_benchmark_references()


rule prepare_benchmark:
    input:
        unpack(benchmark_inputs),
    output:
        table=f"{RES}/benchmarks/{{task}}.parquet",
        qc=f"{RES}/benchmarks/{{task}}.qc.tsv",
    params:
        format=lambda wc: DATASETS["benchmarks"][wc.task]["format"],
        reference=lambda wc, input: f"--reference {shlex.quote(input.reference)}" if "reference" in input.keys() else "",
        class_references=benchmark_reference_args,
        zip=zip_limit_args(),
    log:
        f"{RES}/logs/prepare_benchmark/{{task}}.log",
    conda:
        "../../envs/data.yaml"
    shell:
        "python -m genolm prepare-benchmark --format {params.format} --input {input.archive:q} {params.reference}"
        " {params.class_references}"
        " {params.zip} --out {output.table:q} --qc {output.qc:q} > {log:q} 2>&1"
