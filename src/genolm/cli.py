"""`genolm <stage>`: one subcommand per workflow stage.

Each module in `genolm.commands` (shared stages) and in `genolm.studies.<study>.commands` (a study's own
stages) is one subcommand: it defines `HELP`, `add_arguments(parser)` and `run(args) -> int | None`. A new study
adds its commands in its own package; this file does not change. The Snakemake rules call these same subcommands, so every stage can be rerun by
hand with the arguments shown in the rule's log.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import pkgutil
import sys

from genolm import __version__, commands, studies
from genolm.errors import GenolmInputError

log = logging.getLogger("genolm")


def command_modules() -> dict[str, str]:
    """Subcommand name -> module path, without importing any of them."""
    packages = {"genolm.commands": commands.__path__}
    for study in pkgutil.iter_modules(studies.__path__):
        package = importlib.util.find_spec(f"genolm.studies.{study.name}.commands")
        if package is not None and package.submodule_search_locations:
            packages[package.name] = package.submodule_search_locations
    found: dict[str, str] = {}
    for package, path in packages.items():
        for module in pkgutil.iter_modules(path):
            if not module.name.startswith("_"):
                name = module.name.replace("_", "-")
                if name in found:
                    raise RuntimeError(f"two subcommands named {name!r}: {found[name]} and {package}.{module.name}")
                found[name] = f"{package}.{module.name}"
    return dict(sorted(found.items()))


def command_names() -> list[str]:
    return list(command_modules())


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with `only`, just that subcommand's module is imported.

    Stages run in conda environments that hold only their own dependencies (the download env has no torch),
    so a subcommand must not import the others.
    """
    parser = argparse.ArgumentParser(prog="genolm", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"genolm {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="STAGE")
    for name, module_path in command_modules().items():
        if only is not None and name != only:
            continue
        module = importlib.import_module(module_path)
        sub = subparsers.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    chosen = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(chosen if chosen in command_names() else None).parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.run(args) or 0)
    except GenolmInputError as error:
        # Bad input is the user's to fix: one clear line, no traceback.
        log.error("%s", error)
        return 2


if __name__ == "__main__":
    sys.exit(main())
