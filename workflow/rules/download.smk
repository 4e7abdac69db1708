# Downloads: every source through `genolm download` (checksums, retries, atomic placement, provenance).
# Local rules: compute nodes often have no internet, so these run on the submit host.


def download_params(wildcards):
    spec = config["sources"][wildcards.source]["files"][wildcards.file]
    args = ["--url", resolve_url(spec["url"])]
    if "md5" in spec:
        args += ["--md5", spec["md5"]]
    elif "sha256" in spec:
        args += ["--sha256", spec["sha256"]]
    elif "checksum_listing" in spec:
        args += ["--checksum-listing", resolve_url(spec["checksum_listing"])]
        if "listing_name" in spec:
            args += ["--listing-name", spec["listing_name"]]
    if "expect" in spec:
        args += ["--expect", spec["expect"]]
    return shlex.join(args)


rule download:
    output:
        f"{RES}/downloads/{{source}}/{{release}}/{{file}}",
    params:
        args=download_params,
    log:
        f"{RES}/logs/download/{{source}}/{{release}}/{{file}}.log",
    localrule: True
    retries: 2
    conda:
        "../../envs/data.yaml"
    shell:
        "{GENOLM} download {params.args} --out {output:q} > {log:q} 2>&1"
