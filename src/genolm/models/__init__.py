"""Genomic language model architectures."""
