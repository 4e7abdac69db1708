"""Benchmarks (issue #24): every configured backbone and baseline on every configured benchmark task (Genomic
Benchmarks, Nucleotide Transformer) under one protocol, summarised as one leaderboard."""

# The prefix of the study's names in the workflow (workflow/rules/studies/benchmarks.smk and benchmarks/): every
# global name and rule there starts with "benchmarks" or "bm" (checked when the workflow is parsed).
WORKFLOW_PREFIX = "bm"
