"""The cancer-type study's own subcommands (discovered by genolm.cli like those of genolm.commands)."""
