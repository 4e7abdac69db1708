"""Window shards -> token batches.

Shards are small enough per split to hold as Arrow strings in memory (a million 1 kb windows is 1 GB);
tokenization happens per batch in the collate function, vectorized, so workers share no Python objects.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from genolm.data.shards import read_shards
from genolm.tokenizers import CharacterTokenizer


class WindowDataset(Dataset):
    def __init__(self, shards: str | Path, split: str, *, with_labels: bool):
        table = read_shards(Path(shards), split, columns=["sequence", "label"] if with_labels else ["sequence"])
        self.sequences = table.column("sequence").to_pylist()
        self.labels = np.asarray(table.column("label").to_pylist(), dtype=np.int64) if with_labels else None
        if with_labels and len(self.labels) and (self.labels < 0).any():
            raise ValueError(f"{shards}: split {split!r} has windows without a label")

    def __len__(self) -> int:
        return len(self.sequences)

    def __getitem__(self, index: int):
        if self.labels is None:
            return self.sequences[index], -1
        return self.sequences[index], int(self.labels[index])


class TokenCollator:
    """Tokenizes a batch of (sequence, label) pairs; left padding so the last position is always real."""

    def __init__(self, tokenizer: CharacterTokenizer, context_length: int):
        self.tokenizer = tokenizer
        # +1 for the [SEP] HyenaDNA appends; the model's l_max is context_length + 2.
        self.max_length = context_length + 1

    def __call__(self, batch):
        sequences, labels = zip(*batch)
        ids, mask = self.tokenizer.encode_batch(list(sequences), max_length=self.max_length, padding_side="left")
        return {
            "input_ids": torch.from_numpy(ids),
            "attention_mask": torch.from_numpy(mask),
            "labels": torch.tensor(labels, dtype=torch.long),
        }


class WindowDataModule(L.LightningDataModule):
    def __init__(self, shards: str | Path, *, context_length: int, batch_size: int, with_labels: bool, num_workers: int = 0,
                 eval_splits: tuple[str, ...] = ("val", "test")):
        super().__init__()
        self.shards = Path(shards)
        self.collate = TokenCollator(CharacterTokenizer(), context_length)
        self.batch_size = batch_size
        self.with_labels = with_labels
        self.num_workers = num_workers
        self.eval_splits = eval_splits
        self.datasets: dict[str, WindowDataset] = {}

    def setup(self, stage: str | None = None) -> None:
        for split in ("train", *self.eval_splits):
            if split not in self.datasets:
                self.datasets[split] = WindowDataset(self.shards, split, with_labels=self.with_labels)

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        return DataLoader(
            self.datasets[split],
            batch_size=self.batch_size,
            shuffle=shuffle,
            collate_fn=self.collate,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)
