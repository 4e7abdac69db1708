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
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from genolm.errors import GenolmInputError


class _Stage:
    """The outputs of one command: temporaries waiting for their rename, and the directories made for them."""

    def __init__(self) -> None:
        self.pending: list[tuple[Path, Path]] = []  # (temporary, final), in order of completion
        self.open_directories: list[Path] = []  # temporaries of atomic_directory blocks not yet ended
        self.created: list[Path] = []  # directories this stage created, parents first
        self.scratch: list[Path] = []  # working directories removed at their block's end: never staged

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
        for tmp, final in self.pending:
            if tmp.is_dir() and final.is_dir() and not final.is_symlink():
                shutil.rmtree(final)
            os.replace(tmp, final)
        self.pending.clear()

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
        stage.commit()
    except BaseException:
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


@contextmanager
def scratch_directory(parent: str | os.PathLike, prefix: str) -> Iterator[Path]:
    """A temporary working directory under `parent` (extracted archives, an indexed copy of a reference),
    removed when the block ends. What is written inside it is in place at once: it is no output."""
    parent = make_output_directory(parent)
    stage = _STAGE.get()
    with tempfile.TemporaryDirectory(dir=parent, prefix=prefix) as name:
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


def _finish(tmp: Path, path: Path) -> None:
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
    try:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.tmp-",
                                    suffix="".join(path.suffixes[-1:]))
    except OSError as error:
        raise GenolmInputError(path, f"cannot write this output ({error.strerror or error}): "
                                     "choose a writable location") from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        _finish(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yields an empty temporary directory to fill; on success it replaces `path` (an existing directory is
    removed first; at the end of the command's stage, if one is open), on error it is removed."""
    path = Path(path)
    make_output_directory(path.parent, output=path)
    try:
        tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.tmp-"))
    except OSError as error:
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
    except BaseException:
        if stage is not None and tmp in stage.open_directories:
            stage.open_directories.remove(tmp)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
