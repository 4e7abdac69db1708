# genolm: from public sequence data to trained genomic language models, figures and result tables.
#
#   snakemake --profile profiles/local            # the embedded demo (config.yaml) on this machine
#   snakemake --profile profiles/slurm            # on a SLURM cluster
#
# Rules live in workflow/rules/, one file per stage; all logic is in the genolm package (src/genolm) and
# every rule calls one `genolm <stage>` subcommand, so any step can be rerun by hand from its log.

from snakemake.utils import min_version

min_version("9.0")


# The demo configuration (config.yaml) is the default. A configuration given with --configfile replaces it: the
# user's studies, experiments, datasets and sources are the ones that run, not those merged over the demo's
# (Snakemake would merge the two, so an experiment removed from the user's file would still run). Several
# --configfile files still merge among themselves, in order; defaults come from the schema.
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"



include: "workflow/rules/common.smk"


wildcard_constraints:
    source=r"[^/]+",
    release=r"[^/]+",
    file=r"[^/]+",
    experiment=r"[^/]+",
    backbone=r"[^/]+",
    length=r"\d+",
    seed=r"\d+",
    task=r"[^/]+",


include: "workflow/rules/download.smk"
include: "workflow/rules/reference.smk"
include: "workflow/rules/sources.smk"
include: "workflow/rules/training.smk"
include: "workflow/rules/embeddings.smk"


# One rule file per study (workflow/rules/studies/<study>.smk, beside src/genolm/studies/<study>/): each registers
# its final outputs and result tables itself, so adding a study touches no shared rule file. Each keeps to its own
# namespace (check_study_namespace, workflow/rules/common.smk), so adding a study changes no other study's plan.
for study_rules in sorted((Path(workflow.basedir) / "workflow/rules/studies").glob("*.smk")):
    remember_namespace()

    include: study_rules

    check_study_namespace(study_rules.stem)


include: "workflow/rules/results.smk"


rule all:
    input:
        final_outputs(),
    default_target: True
