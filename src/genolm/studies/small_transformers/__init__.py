"""Study 2: "Small transformers for bioinformatics tasks" (master's thesis, University of Bologna): Longformer and
Longalbert pretrained on mitochondrial and human genomes, fine-tuned on 12S species classification, TSS
localization and chromatin profiles (docs/studies/small_transformers.md)."""

# The prefix of the study's names in the workflow (workflow/rules/studies/small_transformers.smk and small_transformers/): every global name and
# rule there starts with "small_transformers" or "st" (checked when the workflow is parsed: check_study_namespace).
WORKFLOW_PREFIX = "st"
