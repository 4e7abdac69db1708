# Downloads: every source through `genolm download` (checksums, retries, atomic placement, provenance).
# Local rules: compute nodes often have no internet, so these run on the submit host.


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
        "python -m genolm download {params.args} --out {output:q} > {log:q} 2>&1"
