"""The one way genolm writes an output: into a temporary sibling, renamed onto the final path once complete.

A killed job, a full disk or bad input therefore never leaves a partial output under the final name (Snakemake
and a rerun see either the whole file or none). The temporary lies in the same directory, so the rename is
atomic on POSIX file systems.

A command is atomic as a whole, not only file by file: `genolm.cli` runs every command inside
`staged_outputs()`. While a stage is open, `atomic_file` and `atomic_directory` do not rename their temporary
when their block ends; they hand it to the stage, which renames every output into place only when the whole
command succeeded, in the order they were completed, and on any failure removes every temporary and every
directory it created. A stage whose last write fails (an unwritable `--qc` path) thus leaves nothing behind,
not its other outputs and no temporary. Code that reads back an output of its own command before the command
ends finds it with `written_path`. Outside a stage (library use, tests) each block renames at once, as before.

The commit itself is all or nothing: an output that already exists is first moved aside (to a backup named like
a temporary), and if any rename fails every output placed so far is removed and its previous version moved
back. Termination signals (SIGTERM from SLURM or Snakemake, SIGINT) raise inside the command once
`handle_termination_signals` is installed, so the same cleanup runs; during the commit and its rollback they are
deferred until the commit is whole or undone. A SIGKILL cannot be caught: every temporary is therefore named
`.<output>.tmp-<pid>@<host>-<random>`, and the next command that writes into that directory removes those whose
process on this host no longer runs (`sweep_dead_temporaries`). Temporaries of another host are left alone:
whether their process still runs cannot be told from here.

Outputs get the mode a new file gets under the user's umask (0644 under 022, 0664 under 002; directories 0755
or 0775), not the private 0600/0700 of `mkstemp`/`mkdtemp`: on a shared lab file system the group reads them.

A full disk or an exhausted quota (ENOSPC, EDQUOT) while an output is written is reported as a
GenolmInputError naming that output ("no space left on device"), and the command leaves nothing behind.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
import signal
import socket
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from genolm.errors import GenolmInputError

# The host part of temporaries' names: dashes become underscores so that the name can be split unambiguously.
_HOST = re.sub(r"[^A-Za-z0-9_.]", "_", socket.gethostname().split(".")[0])[:40] or "host"
# `.<output>.tmp-<pid>@<host>-<8 random characters>[suffix]`: mkstemp's and mkdtemp's random part is 8 characters
# of [a-z0-9_]; backups of previous outputs during a commit use 8 hex digits and end in `.old`; scratch
# directories are `.<prefix>tmp-<pid>@<host>-<random>`.
_TEMPORARY_NAME = re.compile(r"^\..*tmp-(?P<pid>\d+)@(?P<host>[A-Za-z0-9_.]+)-[a-z0-9_]{8}")


class CommandTerminated(BaseException):
    """A termination signal (SIGTERM) arrived while a command ran. A BaseException, like KeyboardInterrupt, so
    that no `except Exception` in a stage swallows it; the CLI exits with 128 + the signal number."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"terminated by signal {signal.Signals(signum).name}")


def _temporary_prefix(path: Path) -> str:
    return f".{path.name}.tmp-{os.getpid()}@{_HOST}-"


def _process_is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def sweep_dead_temporaries(directory: str | os.PathLike) -> list[Path]:
    """Remove the temporaries in `directory` left by a genolm process of this host that no longer runs (one
    killed with SIGKILL, or by the out-of-memory killer); returns what was removed."""
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMPORARY_NAME.match(entry.name)
        if match is None or match["host"] != _HOST or _process_is_running(int(match["pid"])):
            continue
        path = Path(entry.path)
        _remove(path)
        removed.append(path)
    return removed


def _umask() -> int:
    """The process's umask, read without changing it where Linux reports it (os.umask can only be read by
    setting it, which would race with threads creating files)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _give_default_mode(path: Path) -> None:
    """The mode `open()` or `mkdir()` would have given `path` under the umask (mkstemp/mkdtemp make it private)."""
    if path.is_symlink():
        return
    base = 0o777 if path.is_dir() else 0o666
    os.chmod(path, base & ~_umask())


_OUT_OF_SPACE = (errno.ENOSPC, errno.EDQUOT)
_OUT_OF_SPACE_TEXT = tuple(os.strerror(code) for code in _OUT_OF_SPACE)


def is_out_of_space(error: BaseException) -> bool:
    """Whether `error` says the disk or the quota is full: an OSError with ENOSPC/EDQUOT, or a library's own
    exception (polars, pyarrow) that carries the system's message for them."""
    if isinstance(error, OSError) and error.errno in _OUT_OF_SPACE:
        return True
    return isinstance(error, Exception) and any(text in str(error) for text in _OUT_OF_SPACE_TEXT)


def out_of_space_error(path: object) -> GenolmInputError:
    return GenolmInputError(path, "no space left on device (or disk quota exceeded) while writing it: free space "
                                  "or choose another location")


# Signals are deferred, not lost, while the stage commits or rolls back: a half-done commit is the one state
# the cleanup could not undo.
_critical_depth = 0
_deferred_signals: list[int] = []


def _signal_exception(signum: int) -> BaseException:
    return KeyboardInterrupt() if signum == signal.SIGINT else CommandTerminated(signum)


def _on_termination_signal(signum: int, frame) -> None:
    if _handled_by_caller and signum == signal.SIGTERM:
        _sigterms_left_to_caller.append(signum)  # the caller's loop stops itself (termination_handled_by_caller)
        return
    if _critical_depth:
        _deferred_signals.append(signum)
        return
    raise _signal_exception(signum)


@contextmanager
def _signals_deferred() -> Iterator[None]:
    global _critical_depth
    _critical_depth += 1
    try:
        yield
    finally:
        _critical_depth -= 1
        if not _critical_depth and _deferred_signals:
            signum = _deferred_signals[0]
            _deferred_signals.clear()
            raise _signal_exception(signum)


_handled_by_caller = 0
_sigterms_left_to_caller: list[int] = []


@contextmanager
def termination_handled_by_caller() -> Iterator[None]:
    """Inside, SIGTERM does not raise here: the block's own loop stops at a safe point (the trainer, through
    Lightning's handler, which runs beside this one and lets the job save `last.ckpt`). A SIGTERM that no loop
    acted on (it came before Lightning installed its handler) is raised when the block ends normally."""
    global _handled_by_caller
    _sigterms_left_to_caller.clear()
    _handled_by_caller += 1
    try:
        yield
    finally:
        _handled_by_caller -= 1
    if _sigterms_left_to_caller:
        _sigterms_left_to_caller.clear()
        raise CommandTerminated(signal.SIGTERM)


@contextmanager
def handle_termination_signals() -> Iterator[None]:
    """While the block runs, SIGTERM raises CommandTerminated and SIGINT KeyboardInterrupt inside it, so that
    every `atomic_*` block and the stage remove their temporaries. Only the main thread can install handlers;
    elsewhere (a test's worker thread) the block runs with the handlers it has."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _on_termination_signal) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class _Stage:
    """The outputs of one command: temporaries waiting for their rename, and the directories made for them."""

    def __init__(self) -> None:
        self.pending: list[tuple[Path, Path]] = []  # (temporary, final), in order of completion
        self.open_directories: list[Path] = []  # temporaries of atomic_directory blocks not yet ended
        self.created: list[Path] = []  # directories this stage created, parents first
        self.scratch: list[Path] = []  # working directories removed at their block's end: never staged
        self.swept: set[Path] = set()  # directories already cleared of dead processes' temporaries

    def _inside_temporary(self, path: Path) -> bool:
        """Whether `path` lies inside a temporary directory of this stage (renamed with it, not on its own)."""
        temporaries = self.open_directories + self.scratch + [tmp for tmp, _ in self.pending if tmp.is_dir()]
        absolute = path.absolute()
        return any(absolute.is_relative_to(tmp.absolute()) for tmp in temporaries)

    def add(self, tmp: Path, final: Path) -> None:
        for index, (earlier, target) in enumerate(self.pending):
            if target.absolute() == final.absolute():  # written twice: the later content wins
                _remove(earlier)
                del self.pending[index]
                break
        self.pending.append((tmp, final))

    def commit(self) -> None:
        """Rename every temporary onto its output, or, if any rename fails, none: outputs placed so far are
        removed and their previous versions moved back. Nothing moves until every temporary is there."""
        for tmp, final in self.pending:
            if not (tmp.exists() or tmp.is_symlink()):
                raise GenolmInputError(final, f"its finished temporary {tmp.name} disappeared before the command "
                                              "ended (removed by another process?): run the command again")
        placed: list[tuple[Path, Path, Path | None]] = []  # (temporary, output, backup of its previous version)
        try:
            for tmp, final in self.pending:
                backup = None
                if final.exists() or final.is_symlink():
                    backup = final.parent / f"{_temporary_prefix(final)}{secrets.token_hex(4)}.old"
                    os.replace(final, backup)
                placed.append((tmp, final, backup))
                os.replace(tmp, final)
        except BaseException:
            for tmp, final, backup in reversed(placed):
                if not (tmp.exists() or tmp.is_symlink()):  # renamed: the new output is in place
                    _remove(final)
                if backup is not None:
                    os.replace(backup, final)
            raise
        self.pending.clear()
        for _, _, backup in placed:
            if backup is not None:
                _remove(backup)

    def abort(self) -> None:
        for tmp, _ in self.pending:
            _remove(tmp)
        self.pending.clear()
        for directory in reversed(self.created):
            try:
                directory.rmdir()  # only when empty: a directory that holds anything else stays
            except OSError:
                pass

    def written(self, path: Path) -> Path:
        absolute = path.absolute()
        for tmp, final in reversed(self.pending):
            target = final.absolute()
            if absolute == target:
                return tmp
            if absolute.is_relative_to(target):
                return tmp / absolute.relative_to(target)
        return path


_STAGE: ContextVar[_Stage | None] = ContextVar("genolm_stage", default=None)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextmanager
def staged_outputs() -> Iterator[None]:
    """Every output written inside the block appears when the block ends without an exception, and none
    otherwise. Nested blocks join the outermost one."""
    if _STAGE.get() is not None:
        yield
        return
    stage = _Stage()
    token = _STAGE.set(stage)
    try:
        yield
        with _signals_deferred():
            stage.commit()
    except BaseException:
        with _signals_deferred():
            stage.abort()
        raise
    finally:
        _STAGE.reset(token)


@contextmanager
def verified_pieces() -> Iterator[None]:
    """Writes inside the block are renamed into place at once, outside the command's stage.

    Only for the verified pieces a rerun reuses: each file of a release set, complete and checked against its
    checksum, with its provenance record. The stage's output proper (the set's manifest) is still staged, so a
    failed command leaves no manifest, yet a rerun after a network failure fetches only what is missing.
    """
    token = _STAGE.set(None)
    try:
        yield
    finally:
        _STAGE.reset(token)


def written_path(path: str | os.PathLike) -> Path:
    """Where an output of the running command can be read now: its temporary while the stage is open, else
    the path itself."""
    stage = _STAGE.get()
    return Path(path) if stage is None else stage.written(Path(path))


def written_files(directory: str | os.PathLike) -> list[tuple[Path, Path]]:
    """Every file under `directory` as (where it can be read now, its path relative to `directory` once the
    running command ends): files already in place, and the command's staged outputs inside it, whose temporaries
    carry other names until the commit."""
    directory = Path(directory)
    readable = written_path(directory)
    stage = _STAGE.get()
    pending = {} if stage is None else {tmp.absolute(): final for tmp, final in stage.pending}
    files = [(f, f.relative_to(readable)) for f in sorted(readable.rglob("*"))
             if f.is_file() and f.absolute() not in pending]
    files += [(tmp, final.absolute().relative_to(directory.absolute())) for tmp, final in pending.items()
              if readable == directory and tmp.is_file() and final.absolute().is_relative_to(directory.absolute())]
    return files


@contextmanager
def scratch_directory(parent: str | os.PathLike, prefix: str) -> Iterator[Path]:
    """A temporary working directory under `parent` (extracted archives, an indexed copy of a reference),
    removed when the block ends. What is written inside it is in place at once: it is no output."""
    parent = make_output_directory(parent)
    _sweep_beside(parent / prefix)
    stage = _STAGE.get()
    with tempfile.TemporaryDirectory(dir=parent, prefix=f"{prefix}tmp-{os.getpid()}@{_HOST}-") as name:
        scratch = Path(name)
        if stage is not None:
            stage.scratch.append(scratch)
        try:
            yield scratch
        finally:
            if stage is not None:
                stage.scratch.remove(scratch)


def make_output_directory(path: str | os.PathLike, *, output: Path | None = None) -> Path:
    """Create `path` (and missing parents) for outputs; inside a stage, directories made here are removed
    again (when left empty) if the command fails. A path that cannot be a directory is bad input (about
    `output`, the file to be written there, when given)."""
    path = Path(path)
    stage = _STAGE.get()
    missing = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        reason = f"({error.strerror or error}): choose a writable location"
        if output is not None:
            raise GenolmInputError(output, f"cannot create its directory {path} {reason}") from None
        raise GenolmInputError(path, f"cannot create this output directory {reason}") from None
    if stage is not None:
        stage.created.extend(reversed(missing))
    return path


def _sweep_beside(path: Path) -> None:
    """Remove dead processes' temporaries in the directory `path` is written to (once per directory and stage)."""
    stage = _STAGE.get()
    directory = path.parent.absolute()
    if _TEMPORARY_NAME.match(directory.name):  # inside a temporary directory of ours: nothing to sweep there
        return
    if stage is not None:
        if directory in stage.swept:
            return
        stage.swept.add(directory)
    sweep_dead_temporaries(directory)


def _finish(tmp: Path, path: Path) -> None:
    _give_default_mode(tmp)
    stage = _STAGE.get()
    if stage is None or stage._inside_temporary(path):
        if tmp.is_dir() and path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        os.replace(tmp, path)
    else:
        stage.add(tmp, path)


@contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[Path]:
    """Yields a temporary path to write; on success it replaces `path` (at the end of the command's stage, if
    one is open), on error it is removed.
    The suffix is kept (`.x.parquet.tmp-abc.parquet`) so writers that infer a format from it still work."""
    path = Path(path)
    make_output_directory(path.parent, output=path)
    _sweep_beside(path)
    try:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=_temporary_prefix(path),
                                    suffix="".join(path.suffixes[-1:]))
    except OSError as error:
        if is_out_of_space(error):
            raise out_of_space_error(path) from None
        raise GenolmInputError(path, f"cannot write this output ({error.strerror or error}): "
                                     "choose a writable location") from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        _finish(tmp, path)
    except BaseException as error:
        tmp.unlink(missing_ok=True)
        if is_out_of_space(error):
            raise out_of_space_error(path) from None
        raise


@contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yields an empty temporary directory to fill; on success it replaces `path` (an existing directory is
    removed first; at the end of the command's stage, if one is open), on error it is removed."""
    path = Path(path)
    make_output_directory(path.parent, output=path)
    _sweep_beside(path)
    try:
        tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=_temporary_prefix(path)))
    except OSError as error:
        if is_out_of_space(error):
            raise out_of_space_error(path) from None
        raise GenolmInputError(path, f"cannot write this output ({error.strerror or error}): "
                                     "choose a writable location") from None
    stage = _STAGE.get()
    if stage is not None:
        stage.open_directories.append(tmp)
    try:
        yield tmp
        if stage is not None:
            stage.open_directories.remove(tmp)
        _finish(tmp, path)
    except BaseException as error:
        if stage is not None and tmp in stage.open_directories:
            stage.open_directories.remove(tmp)
        shutil.rmtree(tmp, ignore_errors=True)
        if is_out_of_space(error):
            raise out_of_space_error(path) from None
        raise
