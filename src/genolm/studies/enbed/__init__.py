"""Study 4: ENBED, a byte-level encoder-decoder for genomic sequences (Malusare, Kothandaraman, Aggarwal et al., "Understanding the Natural Language of DNA using Encoder-Decoder Foundation Models with Byte-level Precision", 2024)."""

# The prefix of the study's names in the workflow (workflow/rules/studies/enbed.smk and enbed/): every global name and
# rule there starts with "enbed" or "en" (checked when the workflow is parsed: check_study_namespace).
WORKFLOW_PREFIX = "en"
