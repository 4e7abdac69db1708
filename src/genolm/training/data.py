"""Window shards -> token batches.

Shards are small enough per split to hold as Arrow strings in memory (a million 1 kb windows is 1 GB);
tokenization happens per batch in the collate function, vectorized, so workers share no Python objects.

The data module picks its own samplers (the Trainer runs with `use_distributed_sampler=False`) so that a step's
global batch is the same set of windows whatever the number of processes: one seeded permutation of the train
split per epoch, cut into global batches of `batch_size x world_size`, each process taking every
`world_size`-th window of each. One process with batch 16 and two DDP processes with batch 8 then train on the
same windows step by step (tests/test_ddp.py), which is what makes a multi-GPU run comparable to a one-GPU run.

A job stopped mid-epoch (a walltime's signal, a node failure) resumes exactly: the train loader is resumable in
Lightning's sense (`state_dict` / `load_state_dict`), so a restart skips the windows the epoch already trained on
instead of starting the epoch over, and no loader draws from the global random generator (each has its own), so
the random state genolm.training.checkpoints.RandomStateResume restores is the one training left off with. Nor
does collation: an objective's masks come from a generator seeded by the job's seed and the batch's examples'
(epoch, index) keys, which the train sampler yields and each item carries (genolm.training.collation).
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
import numpy as np
import torch
from lightning.pytorch.overrides.distributed import UnrepeatedDistributedSampler
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from genolm.datasets.shards import read_shards
from genolm.errors import GenolmInputError


class WindowDataset(Dataset):
    """(sequence, target) pairs of one split; the target is the `label_column` value (e.g. `anchor_offset` for
    site localization, the `target_sequence` string of a sequence-to-sequence pair), or -1 without labels. `group_column` (e.g. `sample`: the cell line or genome an example
    belongs to) is read alongside, for label subsampling by unit and per-unit evaluation."""

    def __init__(self, shards: str | Path, split: str, *, with_labels: bool, label_column: str = "label",
                 group_column: str | None = None):
        columns = ["sequence"] + ([label_column] if with_labels else []) + ([group_column] if group_column else [])
        table = read_shards(Path(shards), split, columns=columns)
        self.sequences = table.column("sequence").to_pylist()
        self.labels = None
        self.groups = None if group_column is None else np.asarray(table.column(group_column).to_pylist(), dtype=object)
        if with_labels:
            if table.column(label_column).null_count:
                raise GenolmInputError(shards, f"split {split!r} has windows without a {label_column}")
            if label_column == "target_sequence":  # a sequence-to-sequence target: strings, not class ids
                self.labels = np.asarray(table.column(label_column).to_pylist(), dtype=object)
                return
            if label_column == "targets":  # a multi-label vector per example
                self.labels = np.asarray(table.column(label_column).to_pylist(), dtype=np.float32)
                return
            self.labels = np.asarray(table.column(label_column).to_pylist(), dtype=np.int64)
            if len(self.labels) and (self.labels < 0).any():
                raise GenolmInputError(shards, f"split {split!r} has windows with a negative {label_column}")

    def subset(self, indices: np.ndarray) -> WindowDataset:
        """The same split restricted to `indices` (e.g. the labelled subset of a scarce-label run)."""
        part = object.__new__(WindowDataset)
        part.sequences = [self.sequences[i] for i in indices]
        part.labels = None if self.labels is None else self.labels[indices]
        part.groups = None if self.groups is None else self.groups[indices]
        return part

    def __len__(self) -> int:
        return len(self.sequences)

    def __getitem__(self, key: int | tuple[int, int]):
        """(sequence, target, (epoch, index)) of `key`: an index, or (epoch, index) from the train sampler. The
        key travels with the item so that collation draws a batch's masks from the batch's own generator
        (genolm.training.collation)."""
        epoch, index = key if isinstance(key, tuple) else (0, key)
        if self.labels is None:
            return self.sequences[index], -1, (epoch, index)
        label = self.labels[index]
        if not isinstance(label, (np.ndarray, str)):
            label = int(label)
        return self.sequences[index], label, (epoch, index)


class ResumableSampler(DistributedSampler):
    """DistributedSampler whose next pass can start `skip` indices into the epoch's order (the batches a resumed job
    already trained on). Its length stays the epoch's: Lightning counts a resumed epoch's batches from its own
    restored progress."""

    skip = 0

    def __iter__(self):
        indices = list(super().__iter__())
        skip, self.skip = self.skip, 0  # the next epoch starts from its beginning
        # (epoch, index): an example's masks differ from epoch to epoch (dynamic masking) and not between runs.
        return iter([(self.epoch, index) for index in indices[skip:]])


class ResumableLoader(DataLoader):
    """The train loader: its state is the batches of the current epoch trained (Lightning's progress, which counts
    the batches consumed, not the one its fetcher holds prefetched); loading that state makes the next pass start
    after them."""

    def __init__(self, *args, progress, **kwargs):
        super().__init__(*args, **kwargs)
        self._progress = progress  # () -> Lightning's batch progress of the current epoch (processed, completed)

    def state_dict(self) -> dict:
        current = self._progress()
        return {"batches": current.processed, "completed": current.completed}

    def load_state_dict(self, state: dict) -> None:
        batches, completed = state["batches"], state.get("completed", state["batches"])
        if batches < len(self):
            self.sampler.skip = batches * self.batch_size
        elif completed == batches:
            # Stopped after the epoch's last batch (a signal): Lightning goes on with the next epoch, from its
            # beginning, but would carry the finished epoch's count into it and end it after one batch.
            self._progress().reset()
        # (Saved inside the last batch, a periodic checkpoint: Lightning itself starts the next epoch afresh.)


class WindowDataModule(L.LightningDataModule):
    def __init__(self, shards: str | Path, *, collate, batch_size: int, with_labels: bool, seed: int,
                 num_workers: int = 0, eval_splits: tuple[str, ...] = ("val", "test"), label_column: str = "label"):
        """`collate` turns a list of (sequence, target) pairs into a batch (genolm.training.collation.Collator)."""
        super().__init__()
        self.shards = Path(shards)
        self.collate = collate
        self.label_column = label_column
        self.batch_size = batch_size  # per process: the global batch is batch_size x world_size
        self.seed = seed
        self.with_labels = with_labels
        self.num_workers = num_workers
        self.eval_splits = eval_splits
        self.datasets: dict[str, WindowDataset] = {}

    def setup(self, stage: str | None = None) -> None:
        for split in ("train", *self.eval_splits):
            if split not in self.datasets:
                self.datasets[split] = WindowDataset(self.shards, split, with_labels=self.with_labels,
                                                     label_column=self.label_column)

    def _world(self) -> tuple[int, int]:
        return self.trainer.world_size, self.trainer.global_rank

    def _loader(self, split: str, sampler, drop_last: bool, loader_class=DataLoader, **extra) -> DataLoader:
        return loader_class(
            self.datasets[split],
            batch_size=self.batch_size,
            sampler=sampler,
            drop_last=drop_last,
            collate_fn=self.collate,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            # Page-locked batches copy to the GPU asynchronously (benchmarks/bench_loader.py).
            pin_memory=torch.cuda.is_available(),
            # Its own generator for the workers' base seed: creating an iterator leaves the global random state alone.
            generator=torch.Generator().manual_seed(self.seed),
            **extra,
        )

    def train_dataloader(self) -> DataLoader:
        world_size, rank = self._world()
        windows = len(self.datasets["train"])
        if windows < self.batch_size * world_size:
            raise GenolmInputError(self.shards, f"the train split has {windows} windows, fewer than one global batch "
                                                f"({self.batch_size} per process x {world_size} processes)")
        # drop_last twice: the incomplete global batch at the end of an epoch is skipped, so every process runs
        # the same number of steps (DDP hangs otherwise) and the epoch is the same length for any world size.
        sampler = ResumableSampler(self.datasets["train"], num_replicas=world_size, rank=rank, shuffle=True,
                                   seed=self.seed, drop_last=True)
        return self._loader("train", sampler, drop_last=True, loader_class=ResumableLoader,
                            progress=self._batch_progress)

    def _batch_progress(self):
        return self.trainer.fit_loop.epoch_loop.batch_progress.current

    def _eval_loader(self, split: str) -> DataLoader:
        # Each window is evaluated exactly once across processes (no padding duplicates), so metrics synced over
        # processes equal the single-process ones.
        world_size, rank = self._world()
        sampler = UnrepeatedDistributedSampler(self.datasets[split], num_replicas=world_size, rank=rank, shuffle=False)
        return self._loader(split, sampler, drop_last=False)

    def val_dataloader(self) -> DataLoader | list:
        # Pretraining without validation chromosomes has no val split; Lightning skips an empty list.
        return self._eval_loader("val") if "val" in self.eval_splits else []

    def test_dataloader(self) -> DataLoader:
        return self._eval_loader("test")
