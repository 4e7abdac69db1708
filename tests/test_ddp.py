"""Training beyond one process goes through Lightning's DDP: two CPU processes (gloo) with batch 4 each train the
same model as one process with batch 8, because a step's global batch is the same windows either way."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest
import torch
from safetensors.torch import load_file

from conftest import TINY_HYENADNA, hyenadna_spec, run_genolm, train_args
from genolm.errors import GenolmInputError
from genolm.tokenizers import CharacterTokenizer
from genolm.training.data import WindowDataModule
from genolm.training.collation import Collator

# Dropout draws differ per process, so the comparison is made without it; everything else is the demo's setup.
ARCHITECTURE = {**TINY_HYENADNA, "embed_dropout": 0.0}
STEPS = 4


def finetune_command(shards: Path, out: Path, results: Path, *, batch_size: int, devices: int) -> list[str]:
    spec = hyenadna_spec(steps=STEPS, batch_size=batch_size, architecture=ARCHITECTURE, warmup_steps=1,
                         val_every_n_steps=STEPS, checkpoint_every_n_steps=STEPS, devices=devices,
                         strategy="ddp" if devices > 1 else "auto")
    spec["head"]["dropout"] = 0.0
    return train_args(spec, shards, out, results, seed=3, task="ddp", experiment=f"devices{devices}")


def trained_state(job: Path) -> dict[str, torch.Tensor]:
    backbone = load_file(job / "model" / "model.safetensors")
    return {**backbone, **{f"head.{k}": v for k, v in load_file(job / "model" / "head.safetensors").items()}}


def assert_same_training(single: Path, multi: Path) -> None:
    """The same weights after the same steps, and the same test metrics on the held-out cell lines."""
    a, b = trained_state(single), trained_state(multi)
    assert a.keys() == b.keys()
    differ = max((a[k] - b[k]).abs().max().item() for k in a)
    assert differ < 1e-5, f"weights differ by up to {differ:g}"
    ma, mb = (pl.read_parquet(job / "metrics.parquet").filter(pl.col("split") == "test").sort("checkpoint", "metric")
              for job in (single, multi))
    assert ma["metric"].to_list() == mb["metric"].to_list()
    for metric, x, y in zip(ma["metric"], ma["value"], mb["value"]):
        assert x == pytest.approx(y, rel=1e-4, abs=1e-6), metric


@pytest.fixture(scope="module")
def single_process_run(tiny_shards, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("single") / "job"
    run_genolm(*finetune_command(tiny_shards, out, out.parent / "results", batch_size=8, devices=1))
    return out


def test_two_ddp_processes_train_like_one_process_with_the_same_global_batch(single_process_run, tiny_shards, tmp_path,
                                                                          monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # two CPU processes over gloo, even on a GPU workstation
    out = tmp_path / "job"
    result = run_genolm(*finetune_command(tiny_shards, out, tmp_path / "results", batch_size=4, devices=2))
    assert "Initializing distributed: GLOBAL_RANK: 1, MEMBER: 2/2" in result.stderr  # really two processes
    assert_same_training(single_process_run, out)
    assert torch.load(out / "checkpoints" / "last.ckpt", weights_only=False)["global_step"] == STEPS

    # Only rank 0 tracked: one MLflow run, finished, with the training parameters.
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path / 'results' / 'mlflow' / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("genolm").experiment_id])
    assert len(runs) == 1 and runs[0].info.status == "FINISHED"
    assert runs[0].data.params["spec.training.devices"] == "2"
    assert runs[0].info.run_id == (out / "mlflow_run_id").read_text()


def data_module(shards: Path, batch_size: int, world_size: int, rank: int) -> WindowDataModule:
    data = WindowDataModule(shards, collate=Collator(CharacterTokenizer(), 65, head="classification"),
                            batch_size=batch_size, with_labels=True, seed=3)
    data.trainer = SimpleNamespace(world_size=world_size, global_rank=rank)  # what the Trainer tells a process
    data.setup("fit")
    return data


def test_a_steps_global_batch_is_the_same_windows_for_any_number_of_processes(tiny_shards):
    def batches(world_size: int, rank: int, epoch: int) -> list[list[str]]:
        loader = data_module(tiny_shards, 8 // world_size, world_size, rank).train_dataloader()
        loader.sampler.set_epoch(epoch)  # what Lightning does at the start of each epoch
        return [[str(ids.tolist()) for ids in batch["input_ids"]] for batch in loader]

    for epoch in (0, 1):
        one = batches(1, 0, epoch)
        ranks = [batches(2, rank, epoch) for rank in (0, 1)]
        assert len(one) == len(ranks[0]) == len(ranks[1]) > 1
        for step, windows in enumerate(one):
            assert sorted(windows) == sorted(ranks[0][step] + ranks[1][step])
    assert batches(1, 0, 0) != batches(1, 0, 1)  # a new permutation each epoch


def test_evaluation_sees_every_window_once_across_processes(tiny_shards):
    single = data_module(tiny_shards, 4, 1, 0).test_dataloader()
    shards = [data_module(tiny_shards, 4, 2, rank).test_dataloader() for rank in (0, 1)]
    seen = sorted(str(ids.tolist()) for loader in shards for batch in loader for ids in batch["input_ids"])
    assert seen == sorted(str(ids.tolist()) for batch in single for ids in batch["input_ids"])


def test_a_train_split_smaller_than_one_global_batch_is_an_input_error(tiny_shards):
    windows = len(data_module(tiny_shards, 1, 1, 0).datasets["train"])
    with pytest.raises(GenolmInputError, match=f"has {windows} windows, fewer than one global batch"):
        data_module(tiny_shards, windows, 2, 0).train_dataloader()
