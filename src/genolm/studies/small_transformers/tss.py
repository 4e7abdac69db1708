"""TSS localization (thesis 4.2.2, Table 5.2): EPDnew promoters -> token-localization examples -> accuracy per
organism beside a position prior.

Examples. For each promoter of an organism's EPDnew BED, the window -upstream..+downstream around the TSS is cut
from the organism's assembly on the promoter's strand (genolm.sources.epd; the thesis: -4,999..+5,000). The
thesis splits each window at the TSS, tokenizes the halves separately (so the TSS starts a token), and builds the
input from r ~ U{0..200} upstream tokens followed by downstream tokens up to the limit; the target is the TSS
token. genolm's shards are tokenizer-free (one dataset serves every init), so the cut is made in *words*: r ~
U{0..max_upstream_words} words of `word` bases (9 = the BPE's 9-mer words) before the TSS, then downstream bases.
Because the kept upstream part is a whole number of k-mer words, the k-mer-word BPE's word grid has a boundary at
the TSS, so the TSS starts a token exactly as in the thesis, without the seam a separately tokenized prefix would
leave (a prefix of arbitrary length ends in a short partial word right before the TSS: a cue the model could use
instead of the sequence). Each row: `sequence`, `anchor_offset` (the TSS's index in it, u = r x word), `anchor_pos`
(the TSS on the assembly), the cut's `chrom`/`ref_start`/`ref_end`, `sample` = the promoter's name. The trainer's
`localization` head predicts the token that holds base `anchor_offset` (genolm.heads.localization.site_token_index)
among the first `context_length` tokens.

Splits. The training organism's promoters are shuffled and split 81/9/10 (thesis); every other organism is one
split, `all`, as the thesis evaluated "all the promoters available for each organism" (for the training organism
that includes its train and validation promoters, an overestimate the thesis notes; genolm reports its `test`
split and its `all` beside each other).

Evaluation (`evaluate_organisms`): the fine-tuned model of one run reads each organism's shards; accuracy of the
TSS token (argmax over the real tokens) per organism and split, beside two baselines that need no model: the
*position prior* (always predict the token index most frequent among the training split's targets) and chance
(1 / the number of real tokens of each input, averaged).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from genolm.qc import QCCounts
from genolm.sources.epd import Promoter, tss_windows
from genolm.studies.small_transformers.corpus import fraction_split

ALL = "all"


class GenomeView:
    """A prepared reference (genolm.sources.reference.ReferenceGenome) as the chromosome -> sliceable sequence
    mapping genolm.sources.epd reads."""

    def __init__(self, reference: Any):
        self.reference = reference

    def __contains__(self, chrom: str) -> bool:
        return self.reference.canonical(chrom) is not None

    def __getitem__(self, chrom: str) -> "_Chromosome":
        return _Chromosome(self.reference, self.reference.canonical(chrom))


class _Chromosome:
    def __init__(self, reference: Any, chrom: str):
        self.reference, self.chrom = reference, chrom

    def __len__(self) -> int:
        return self.reference.lengths[self.chrom]

    def __getitem__(self, where: slice) -> str:
        return self.reference.fetch(self.chrom, where.start, where.stop)


def cut_example(window: str, promoter: Promoter, *, upstream: int, downstream: int, words: int,
                word: int) -> tuple[str, int, int, int]:
    """(sequence, anchor_offset, ref_start, ref_end) of `words` upstream words of `word` bases, the TSS, and
    the `downstream` bases after it, from a strand-oriented window whose TSS is at index `upstream`."""
    kept = min(words * word, upstream)
    sequence = window[upstream - kept : upstream + downstream + 1]
    if promoter.strand == "+":
        ref_start, ref_end = promoter.tss - kept, promoter.tss + downstream + 1
    else:
        ref_start, ref_end = promoter.tss - downstream, promoter.tss + kept + 1
    return sequence, kept, ref_start, ref_end


def tss_table(genome: Any, promoters: list[Promoter], *, upstream: int, downstream: int, max_upstream_words: int,
              word: int, split: dict[str, float] | None, seed: int, qc: QCCounts) -> pa.Table:
    """The shard table (WINDOW_SCHEMA) of one organism; `split` None puts every example in split `all`."""
    rng = np.random.default_rng(seed)
    windows = tss_windows(genome, promoters, upstream=upstream, downstream=downstream, qc=qc)
    rows: dict[str, list] = {k: [] for k in ("sequence", "sample", "chrom", "ref_start", "ref_end", "anchor_pos",
                                             "anchor_offset")}
    for promoter, window in windows:
        words = int(rng.integers(0, max_upstream_words, endpoint=True))
        sequence, offset, start, end = cut_example(window, promoter, upstream=upstream, downstream=downstream,
                                                   words=words, word=word)
        for key, value in (("sequence", sequence), ("sample", promoter.name), ("chrom", promoter.chrom),
                           ("ref_start", start), ("ref_end", end), ("anchor_pos", promoter.tss),
                           ("anchor_offset", offset)):
            rows[key].append(value)
    n = len(rows["sequence"])
    splits = np.full(n, ALL, dtype=object) if split is None else fraction_split(n, split, rng)
    for name in sorted(set(splits.tolist())):
        qc.add("examples_in_split", int((splits == name).sum()), detail=name)
    return pa.table({
        "sequence": pa.array(rows["sequence"], pa.large_string()),
        "label": pa.nulls(n, pa.int64()),
        "sample": pa.array(rows["sample"], pa.string()),
        "chrom": pa.array(rows["chrom"], pa.string()),
        "ref_start": pa.array(rows["ref_start"], pa.int64()),
        "ref_end": pa.array(rows["ref_end"], pa.int64()),
        "anchor_pos": pa.array(rows["anchor_pos"], pa.int64()),
        "anchor_offset": pa.array(rows["anchor_offset"], pa.int64()),
        "mutations": pa.array([[] for _ in range(n)], pa.list_(pa.struct([("pos", pa.int64()), ("ref", pa.string()),
                                                                          ("alt", pa.string())]))),
        "n_mutations": pa.array(np.zeros(n, dtype=np.int32)),
        "split": pa.array(splits.tolist(), pa.string()),
        "window_id": pa.array(np.arange(n, dtype=np.int64)),
    })


# ---- evaluation ------------------------------------------------------------------------------------------------
def target_tokens(collate: Any, windows: Any, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(TSS token index, number of real tokens) of every example, as the trainer's collator builds them."""
    targets, lengths = [], []
    for start in range(0, len(windows), batch_size):
        batch = collate([windows[i] for i in range(start, min(start + batch_size, len(windows)))])
        targets.append(batch["labels"].numpy())
        lengths.append(batch["attention_mask"].sum(1).numpy())
    return np.concatenate(targets), np.concatenate(lengths)


def predict_tokens(task: Any, collate: Any, windows: Any, batch_size: int = 64) -> np.ndarray:
    import torch

    out = []
    with torch.no_grad():
        for start in range(0, len(windows), batch_size):
            batch = collate([windows[i] for i in range(start, min(start + batch_size, len(windows)))])
            out.append(task(batch["input_ids"], batch["attention_mask"]).argmax(-1).numpy())
    return np.concatenate(out)


def position_prior(train_targets: np.ndarray) -> int:
    """The token index most frequent among the training targets (ties: the smallest)."""
    counts = Counter(train_targets.tolist())
    return min(counts, key=lambda t: (-counts[t], t))


def evaluate_organisms(model_dir: Path, organisms: dict[str, Path], train_shards: Path, context_length: int,
                       checkpoint: str) -> dict[str, float]:
    """"split@checkpoint/metric/organism" -> value for every organism's splits (test and all for the training
    organism, all for the others): accuracy, position_prior_accuracy, chance_accuracy, examples."""
    from genolm.datasets.shards import read_manifest
    from genolm.heads import load_task_model
    from genolm.training.collation import Collator
    from genolm.training.data import WindowDataset

    task, tokenizer, _ = load_task_model(model_dir)
    collate = Collator(tokenizer, context_length, head="localization")
    train = WindowDataset(train_shards, "train", with_labels=True, label_column="anchor_offset")
    prior = position_prior(target_tokens(collate, train)[0])
    values: dict[str, float] = {}
    for organism, shards in organisms.items():
        splits = read_manifest(shards)["splits"]
        parts: dict[str, list[str]] = {ALL: list(splits)}
        if "test" in splits:
            parts["test"] = ["test"]
        predicted: dict[str, np.ndarray] = {}
        for split in splits:
            windows = WindowDataset(shards, split, with_labels=True, label_column="anchor_offset")
            targets, lengths = target_tokens(collate, windows)
            predicted[split] = np.stack([predict_tokens(task, collate, windows), targets, lengths])
        for name, members in parts.items():
            pred, targets, lengths = np.concatenate([predicted[s] for s in members], axis=1)
            key = f"{name}@{checkpoint}/{{}}/{organism}"
            values[key.format("accuracy")] = float((pred == targets).mean())
            values[key.format("position_prior_accuracy")] = float((targets == prior).mean())
            values[key.format("chance_accuracy")] = float((1 / np.maximum(lengths - 2, 1)).mean())
            values[key.format("examples")] = float(len(targets))
    return values
