"""genolm: genomic language models from public sequence data to result tables."""

__version__ = "0.1.0"
