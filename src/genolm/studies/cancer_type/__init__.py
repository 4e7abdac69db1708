"""Study 1: HyenaDNA cancer-type classification from GRCh38 windows carrying a cell line's somatic mutations."""

# The prefix of the study's names in the workflow (workflow/rules/studies/cancer_type.smk and cancer_type/): every global name and
# rule there starts with "cancer_type" or "ct" (checked when the workflow is parsed: check_study_namespace).
WORKFLOW_PREFIX = "ct"
