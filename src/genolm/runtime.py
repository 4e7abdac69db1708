"""Process set-up for the commands that train: the memory allocator, threads and the CPU GEMM backend.

Allocator. PyTorch's CPU tuning guide recommends jemalloc or tcmalloc: glibc returns a freed tensor's pages to the
kernel and the next step faults them in again (docs/performance.md#allocator: hundreds of thousands of minor page
faults a step at 16K context). `LD_PRELOAD` only works when set before the process starts, so `python -m genolm
train` re-executes itself once (`os.execv`: same process id, so SLURM's and Snakemake's signals still reach it)
with jemalloc preloaded when the library is installed (Debian `libjemalloc2`, `make system-deps`; a conda env's
`jemalloc`; or `$GENOLM_JEMALLOC`) and no allocator is preloaded yet. `MALLOC_CONF` defaults to keeping freed
pages (decay off), the measured best; a `MALLOC_CONF` already set is kept. `GENOLM_ALLOCATOR=system` turns the
re-execution off. Without the library the command runs on glibc's allocator and logs that it does.

GEMMs. A training job routes float32 linear layers to oneDNN (genolm.models.gemm.linear_routing), which takes the
AVX-512 path where PyTorch's default (MKL) takes AVX2 on non-Intel CPUs, when it trains on a CPU, in float32, a
model whose layers are wide enough for that to pay.

This module imports nothing heavy at import time: `python -m genolm` imports it before any command.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import glob
import logging
import os
import sys
from collections.abc import Iterator

log = logging.getLogger(__name__)

# Commands whose processes train or run models at length, and so get jemalloc.
TRAINING_COMMANDS = frozenset({"train"})
# Processes preloaded with jemalloc: the training commands, and the fork server whose children run them
# (genolm.forkserver; fork keeps the allocator, LD_PRELOAD cannot change after exec).
PRELOADED_COMMANDS = TRAINING_COMMANDS | {"forkserver"}
# dirty and muzzy decay off: freed pages stay mapped for the next step instead of going back to the kernel.
JEMALLOC_CONF = "dirty_decay_ms:-1,muzzy_decay_ms:-1"
_ALLOCATORS = ("jemalloc", "tcmalloc")


def find_jemalloc() -> str | None:
    """The jemalloc shared library: `$GENOLM_JEMALLOC`, Debian's libjemalloc2, this environment's (conda), or the
    linker's search path; None if none is installed."""
    candidates = [os.environ["GENOLM_JEMALLOC"]] if os.environ.get("GENOLM_JEMALLOC") else []
    candidates += sorted(glob.glob("/usr/lib/*/libjemalloc.so.2") + glob.glob("/usr/lib64/libjemalloc.so.2")
                         + glob.glob(f"{sys.prefix}/lib/libjemalloc.so.2"))
    found = ctypes.util.find_library("jemalloc")
    if found and os.path.isabs(found):
        candidates.append(found)
    return next((c for c in candidates if os.path.isfile(c)), None)


def loaded_allocator() -> str:
    """'jemalloc' or 'tcmalloc' when that library is mapped into this process, else 'glibc'."""
    try:
        with open("/proc/self/maps") as maps:
            mapped = maps.read()
    except OSError:  # not Linux: nothing is preloaded by genolm there
        return "glibc"
    return next((name for name in _ALLOCATORS if f"lib{name}" in mapped), "glibc")


def preload_allocator(command: str | None) -> None:
    """Re-execute this process with jemalloc preloaded if `command` trains (or is the fork server), the library is
    installed, and neither it nor another allocator is loaded (see the module docstring). Returns only when no
    re-execution is due."""
    if (command not in PRELOADED_COMMANDS or os.environ.get("GENOLM_ALLOCATOR") == "system"
            or loaded_allocator() != "glibc" or os.environ.get("GENOLM_ALLOCATOR_TRIED")):
        return
    library = find_jemalloc()
    if library is None:
        return
    env = dict(os.environ)
    env["LD_PRELOAD"] = " ".join(p for p in (library, env.get("LD_PRELOAD", "")) if p)  # ld.so: space-separated
    env.setdefault("MALLOC_CONF", JEMALLOC_CONF)
    env["GENOLM_ALLOCATOR_TRIED"] = "1"  # once: a library that fails to load must not loop
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)


@contextlib.contextmanager
def training_runtime(threads: int | None = None) -> Iterator[None]:
    """Threads (the rule's `threads`: jobs sharing a node must not each take every core) and a log line naming the
    allocator, for the duration. Whether linear layers run on oneDNN is the job's to decide, once its model is
    built (genolm.models.gemm.linear_routing, in genolm.training.trainer.run_job)."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    allocator = loaded_allocator()
    if allocator == "glibc":
        log.info("allocator: glibc (install jemalloc - Debian libjemalloc2, `make system-deps` - for fewer page "
                 "faults per step: docs/performance.md#allocator)")
    else:
        log.info("allocator: %s, MALLOC_CONF=%s", allocator, os.environ.get("MALLOC_CONF", ""))
    yield
