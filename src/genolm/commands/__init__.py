"""One module per `genolm` subcommand (see `genolm.cli`)."""
