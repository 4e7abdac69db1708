"""`genolm export-hf`: a trained BERT, ALBERT, Longformer or ENBED model as a Hugging Face directory."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from genolm.errors import GenolmInputError

HELP = ("export a genolm BERT, ALBERT, Longformer or ENBED (LongT5) model to a Hugging Face directory that "
        "transformers' Auto classes load without genolm")

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, type=Path, help="genolm model directory (e.g. <job>/model)")
    parser.add_argument("--out", required=True, type=Path, help="Hugging Face directory to write")


def run(args: argparse.Namespace) -> None:
    from genolm import models

    model = models.from_pretrained(args.model)
    try:
        model.export_hf(args.out)
    except ValueError as error:
        raise GenolmInputError(args.model, str(error)) from None
    log.info("exported the %s model to %s", model.name, args.out)
