"""The one way genolm writes an output: into a temporary sibling, renamed onto the final path once complete.

A killed job, a full disk or bad input therefore never leaves a partial output under the final name (Snakemake
and a rerun see either the whole file or none). The temporary lies in the same directory, so the rename is
atomic on POSIX file systems.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[Path]:
    """Yields a temporary path to write; on success it replaces `path`, on error it is removed.
    The suffix is kept (`.x.parquet.tmp-abc.parquet`) so writers that infer a format from it still work."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.tmp-", suffix="".join(path.suffixes[-1:]))
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yields an empty temporary directory to fill; on success it replaces `path` (an existing directory is
    removed first), on error it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.tmp-"))
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
