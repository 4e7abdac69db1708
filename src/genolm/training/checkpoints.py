"""A job's checkpoints: written whole, resumed only when readable, and saved when the job is stopped by a signal.

    AtomicCheckpointIO   Lightning's checkpoint writer, through genolm.atomic: a checkpoint appears complete or not
                         at all, and the `last.ckpt` it replaces is kept as `last-prev.ckpt`
    resume_checkpoint    the newest readable checkpoint to resume from (`last.ckpt`, else `last-prev.ckpt`); an
                         unreadable one (truncated by a node crash or a network file system) is set aside as
                         `<name>.corrupt-<timestamp>` with one warning, instead of failing every rerun
    InterruptHandling    SIGTERM (a scheduler stopping the job; SLURM sends it before its kill) and SIGINT (Ctrl-C)
                         both stop training at the next step boundary through Lightning's own SIGTERM handling
                         (`trainer.received_sigterm`, then its SIGTERMException) and save `last.ckpt` with that
                         step's exact state (weights, optimizer, schedule, loops); the trainer then raises
                         TrainingInterrupted, which `genolm train` turns into exit status 128 + signal (143, 130)
    RandomStateResume    the global random state (torch, CUDA, NumPy, Python: dropout) saved in every checkpoint and
                         restored just before the first step a resumed job trains, so that with the resumable train
                         loader (genolm.training.data) a job resumed any number of times ends with the weights and
                         metrics of an uninterrupted run (bit for bit on CPU). Masks an objective draws while
                         collating are drawn from the same state, but the loader collates one batch ahead (Lightning
                         prefetches), so a resumed masked-LM run draws its next masks in another order
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.fabric.plugins import TorchCheckpointIO
from lightning.fabric.utilities.seed import _collect_rng_states, _set_rng_states
from lightning.fabric.utilities.rank_zero import rank_zero_only
from lightning.pytorch.trainer.states import TrainerStatus

from genolm.atomic import atomic_file, verified_pieces

log = logging.getLogger(__name__)

LAST, PREVIOUS = "last.ckpt", "last-prev.ckpt"
# What a Lightning checkpoint must hold to resume the exact state (trainer.fit(ckpt_path=...) reads them all).
REQUIRED_KEYS = ("state_dict", "optimizer_states", "lr_schedulers", "loops", "global_step")


class TrainingInterrupted(Exception):
    """Training was stopped by a signal after `checkpoint` was saved at `step`; rerunning the job resumes there."""

    def __init__(self, signum: int, step: int, checkpoint: Path):
        self.signum, self.step, self.checkpoint = signum, step, checkpoint
        self.exit_status = 128 + signum  # what a shell reports for a process killed by the signal
        super().__init__(f"stopped by {signal.Signals(signum).name} at step {step}; {checkpoint} holds that "
                         "step's state and a rerun resumes from it")


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints written through a temporary sibling (genolm.atomic) and flushed to disk before the rename: a job
    killed while saving leaves the previous checkpoint, never a truncated one. They are working state rather than
    the command's outputs, so each is in place at once (not held until the command ends). The `last.ckpt` being
    replaced is kept as `last-prev.ckpt`: a fallback if the new one is damaged later (a file system that lost
    unflushed data in a crash)."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options")
        path = Path(path)
        with verified_pieces(), atomic_file(path) as tmp:
            with open(tmp, "wb") as handle:
                torch.save(checkpoint, handle)
                handle.flush()
                os.fsync(handle.fileno())
            if path.name == LAST and path.exists():
                os.replace(path, path.with_name(PREVIOUS))


def checkpoint_problem(path: Path) -> str | None:
    """Why `path` cannot be resumed from (unreadable, or missing what a resume needs), or None."""
    try:
        # mmap: the structure is read and checked, the tensors are not copied into memory a second time.
        state = torch.load(path, map_location="cpu", weights_only=False, mmap=True)
    except Exception as error:  # a truncated zip, a bad pickle, an I/O error: all mean "not resumable"
        return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else 'unreadable'}"
    if not isinstance(state, dict):
        return "not a Lightning checkpoint"
    missing = [key for key in REQUIRED_KEYS if key not in state]
    return f"missing {', '.join(missing)}" if missing else None


def checkpoint_step(path: Path) -> int:
    """The optimizer step at which a Lightning checkpoint was saved."""
    return int(torch.load(path, map_location="cpu", weights_only=False, mmap=True)["global_step"])


def resume_checkpoint(checkpoints: Path) -> Path | None:
    """The checkpoint a restarted job resumes from: `last.ckpt`, else `last-prev.ckpt`, else None (from scratch).

    An unreadable one is renamed `<name>.corrupt-<UTC timestamp>` (kept for inspection, out of the way of every
    later rerun) with one warning. Only global rank 0 renames; under DDP the other processes make the same choice
    without touching the files."""
    for name in (LAST, PREVIOUS):
        path = Path(checkpoints) / name
        if not path.exists():
            continue
        problem = checkpoint_problem(path)
        if problem is None:
            return path
        aside = path.with_name(f"{name}.corrupt-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}")
        if rank_zero_only.rank == 0:
            os.replace(path, aside)
        log.warning("%s cannot be resumed from (%s): set aside as %s", path, problem, aside.name)
    return None


class InterruptHandling(L.Callback):
    """Stop at a step boundary on SIGTERM or SIGINT, with `last.ckpt` saved at that step.

    SIGTERM is Lightning's: its handler (installed for each fit/validate/test) sets `trainer.received_sigterm`,
    the loop raises SIGTERMException at the next step boundary, and `on_exception` below saves the checkpoint.
    SIGINT would otherwise raise KeyboardInterrupt anywhere, possibly between two parameter updates of one
    optimizer step; while a Lightning loop runs it is routed to that same SIGTERM handling, and recorded so the
    exit status says which signal it was. Outside a loop, SIGINT is an ordinary KeyboardInterrupt."""

    def __init__(self, last: Path):
        self.last = Path(last)
        self.signum: int | None = None
        self._previous_sigint: Any = None

    def install(self, trainer: L.Trainer) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # only the main thread may set handlers; Lightning skips its own there too

        def on_sigint(signum, frame):
            handler = signal.getsignal(signal.SIGTERM)
            if trainer.state.status != TrainerStatus.RUNNING or not callable(handler):
                raise KeyboardInterrupt
            self.signum = self.signum or signal.SIGINT
            handler(signal.SIGTERM, frame)

        self._previous_sigint = signal.signal(signal.SIGINT, on_sigint)

    def uninstall(self) -> None:
        if self._previous_sigint is not None:
            signal.signal(signal.SIGINT, self._previous_sigint)
            self._previous_sigint = None

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        from lightning.pytorch.utilities.exceptions import SIGTERMException

        if isinstance(exception, SIGTERMException) and trainer.state.fn == "fit":
            self.signum = self.signum or signal.SIGTERM
            trainer.save_checkpoint(self.last)
            log.warning("stopped by %s at step %d: saved %s", signal.Signals(self.signum).name, trainer.global_step,
                        self.last)


class RandomStateResume(L.Callback):
    """The random state in each checkpoint, restored at the first training step after a resume.

    Saved when the checkpoint is written (a signal's save comes after that step's validation; a periodic one before
    it, and validation draws nothing: no dropout in eval mode, the loaders have their own generators). Restored at
    the first batch rather than when the checkpoint is read, because setting up a resumed run (the model summary,
    the loaders' iterators, Lightning's restore) may draw from the global generator where the uninterrupted run drew
    nothing. Under DDP the state saved is global rank 0's and every rank restores it, as seeding gave every rank
    the same state at the start."""

    def __init__(self):
        self._pending: dict | None = None

    def state_dict(self) -> dict[str, Any]:
        states = _collect_rng_states(include_cuda=torch.cuda.is_available())
        # Plain lists instead of NumPy's array: Lightning reads checkpoints with torch.load(weights_only=True).
        name, keys, position, has_gauss, cached = states["numpy"]
        return {"rng": {**states, "numpy": [name, keys.tolist(), position, has_gauss, cached]}}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        import numpy as np

        states = dict(state_dict["rng"])
        name, keys, position, has_gauss, cached = states["numpy"]
        states["numpy"] = (name, np.asarray(keys, dtype=np.uint32), position, has_gauss, cached)
        self._pending = states

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any,
                             batch_idx: int) -> None:
        if self._pending is not None:
            _set_rng_states(self._pending)
            self._pending = None
