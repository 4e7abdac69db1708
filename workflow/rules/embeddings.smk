# Datasets embedded with a backbone outside any study (config `embeddings`: a name each): genolm embed-sequences,
# results/embeddings/<name>.parquet. Part of `all` when configured.


def embedding_outputs():
    return [f"{RESULTS}/embeddings/{name}.parquet" for name in config["embeddings"]]


def embedding_options(wildcards):
    entry = config["embeddings"][wildcards.name]
    options = ["--layer", str(entry["layer"]), "--pooling", entry["pooling"], "--strands", entry["strands"],
               "--batch-size", str(entry["batch_size"])]
    for key in ("chunk", "overlap"):
        if entry[key] is not None:
            options += [f"--{key}", str(entry[key])]
    return shlex.join(options)


rule embed_sequences:
    """A configured dataset's embeddings (config `embeddings`)."""
    input:
        model=lambda wc: resolve_url(config["embeddings"][wc.name]["model"]),
        sequences=lambda wc: resolve_url(config["embeddings"][wc.name]["sequences"]),
    output:
        f"{RESULTS}/embeddings/{{name}}.parquet",
    wildcard_constraints:
        name="|".join(re.escape(n) for n in config["embeddings"]) or "(?!)",
    params:
        options=embedding_options,
    log:
        f"{RESULTS}/logs/embed_sequences_{{name}}.log",
    threads: config["compute"]["training_cpus"]
    resources:
        **accelerator_resources(),
        mem_mb=8000,
    conda:
        "../../envs/train.yaml"
    shell:
        "python -m genolm embed-sequences --model {input.model:q} --sequences {input.sequences:q} {params.options}"
        " --out {output:q} > {log:q} 2>&1"
