"""Study 3, virBERT: a DNABERT-style BERT pretrained on viral genomes, fine-tuned to tell phages from other viruses
with scarce labels (GenomeNet-BERT paper and the virBERT thesis)."""

# The prefix of the study's names in the workflow (workflow/rules/studies/virbert.smk and virbert/): every global name and
# rule there starts with "virbert" or "vb" (checked when the workflow is parsed: check_study_namespace).
WORKFLOW_PREFIX = "vb"
