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
import shlex
import sys
import traceback

from genolm import __version__, commands, studies
from genolm.atomic import (
    CommandTerminated,
    handle_termination_signals,
    is_out_of_space,
    out_of_space_error,
    staged_outputs,
)
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
        _check_seeds(sub)
        sub.set_defaults(run=module.run)
    return parser


def seed(text: str) -> int:
    """A seed: a non-negative integer (numpy's generators refuse negative ones, deep inside a stage)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def _bounded(kind: type, low: float, strict: bool, what: str):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or value != value or value < low or (strict and value == low):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value
    parse.__name__ = what
    return parse


# Arguments that count or measure something, by name, whatever the command: a careless value (0 rows per
# shard, a negative window count) would otherwise surface as a traceback deep inside a stage.
_COUNTS = {
    "length": _bounded(int, 0, True, "a positive integer"),
    "stride": _bounded(int, 0, True, "a positive integer"),
    "max_windows": _bounded(int, 0, True, "a positive integer"),
    "rows_per_shard": _bounded(int, 0, True, "a positive integer"),
    "per_organism": _bounded(int, 0, True, "a positive integer"),
    "retries": _bounded(int, 0, False, "a non-negative integer"),
    "timeout": _bounded(float, 0, True, "a positive number of seconds"),
}


def _check_seeds(parser: argparse.ArgumentParser) -> None:
    # Every command's `--seed` (and counts, above) is checked here, once, rather than in each command.
    for action in parser._actions:
        if action.dest == "seed" and action.type is int:
            action.type = seed
        elif action.dest in _COUNTS and action.type in (int, float):
            action.type = _COUNTS[action.dest]


def _error_line(command: str, error: BaseException) -> str:
    return f"genolm {command}: error: {error}"


def run_command(args: argparse.Namespace) -> int:
    """Run the chosen command as one stage (`genolm.atomic.staged_outputs`: all of its outputs or none).

    Bad input (GenolmInputError, or a path the system refuses) is the user's to fix: one line naming the file,
    the record and what to do, and exit status 2. A full disk or quota (ENOSPC, EDQUOT) is reported the same
    way, naming the path. Anything else is a bug in genolm: a line saying so, then the traceback, and exit
    status 1.
    """
    try:
        with staged_outputs():
            return int(args.run(args) or 0)
    except GenolmInputError as error:
        print(_error_line(args.command, error), file=sys.stderr)
        return 2
    except OSError as error:
        if is_out_of_space(error):
            # A write outside `atomic_file` (which names its output itself): the path is the error's, if any.
            where = error.filename if error.filename is not None else "(an output of this command)"
            print(_error_line(args.command, out_of_space_error(where)), file=sys.stderr)
            return 2
        if error.filename is None:
            raise
        reason = error.strerror or type(error).__name__
        print(_error_line(args.command, GenolmInputError(error.filename, f"{reason}: check the path and its "
                                                                         "permissions")), file=sys.stderr)
        return 2


def print_command_line(argv: list[str]) -> None:
    """The command that reproduces this run, as the first line of its output (a rule's log): printed before the
    subcommand's heavy imports, so even a failed import leaves it; flushed, so it precedes whatever follows."""
    print("$ " + shlex.join(["python", "-m", "genolm", *map(str, argv)]), file=sys.stderr, flush=True)


# Lightning's advertisements (INFO lines that begin so, through its rank-zero loggers): noise in every training log.
_ADVERTISEMENTS = ("\N{ELECTRIC LIGHT BULB} Tip:",)
_LIGHTNING_RANK_ZERO_LOGGERS = ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero")


def _not_an_advertisement(record: logging.LogRecord) -> bool:
    return not str(record.getMessage()).startswith(_ADVERTISEMENTS)


def configure_logging(verbose: bool) -> None:
    """genolm's records through one root handler; Lightning's once, through its own.

    Lightning's import (lazily, inside a training command, after this runs) gives its `lightning` logger a console
    handler of its own; its records propagating to ours too would print each line twice. So they stay with its
    handler. Its advertisements are dropped where they are logged (a logger's filter holds for every handler).
    """
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,  # main() may run more than once in a process (the tests call it in-process)
    )
    logging.getLogger("lightning").propagate = False
    for name in _LIGHTNING_RANK_ZERO_LOGGERS:
        logger = logging.getLogger(name)
        if _not_an_advertisement not in logger.filters:
            logger.addFilter(_not_an_advertisement)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    print_command_line(argv)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(chosen if chosen in command_names() else None).parse_args(argv)
    configure_logging(args.verbose)
    try:
        # SIGTERM (SLURM, Snakemake) and SIGINT raise inside the command, so every temporary is removed.
        with handle_termination_signals():
            return run_command(args)
    except KeyboardInterrupt:
        print(f"genolm {args.command}: interrupted; no output was left behind", file=sys.stderr)
        return 130
    except CommandTerminated as terminated:
        print(f"genolm {args.command}: {terminated}; no output was left behind", file=sys.stderr)
        return 128 + terminated.signum
    except Exception:
        print(f"genolm {args.command}: internal error: this is a bug in genolm, not in your input; please report "
              "it with the traceback below", file=sys.stderr)
        traceback.print_exc()
        return 1


if __name__ == "__main__":
    sys.exit(main())
