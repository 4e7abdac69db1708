"""Subcommands of the small-transformer study (found by genolm.cli)."""
