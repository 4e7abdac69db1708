"""Activation checkpointing (the spec's `model.activation_checkpointing`) changes memory, never the training: a
checkpointed ENBED encoder-decoder and decoder-only model give the plain model's loss and gradients, dropout
included; the option reaches the models through the trainer, and plan-compute judges the full-scale ENBED
pretraining jobs by their checkpointed peak memory."""

from __future__ import annotations

import copy

import pytest
import torch

from genolm import tokenizers
from genolm.models import registry

SMALL = {"d_model": 64, "d_kv": 16, "d_ff": 128, "num_heads": 4}
MODELS = {
    "enbed": {**SMALL, "num_encoder_layers": 2, "num_decoder_layers": 2, "local_radius": [4, 4]},
    "enbed-decoder": {**SMALL, "num_layers": 3},
}


def loss_and_gradients(model, batch: dict) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    torch.manual_seed(11)  # the same dropout masks for both models
    model.train()
    model.zero_grad()
    if model.name == "enbed":
        loss = model(batch["input_ids"], labels=batch["labels"]).loss
    else:
        logits = model(batch["input_ids"]).logits
        loss = torch.nn.functional.cross_entropy(logits[:, :-1].flatten(0, 1), batch["input_ids"][:, 1:].flatten())
    loss.backward()
    return loss.detach(), {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("name", MODELS)
def test_a_checkpointed_model_has_the_plain_models_loss_and_gradients(name):
    tokenizer = tokenizers.build("byte")
    torch.manual_seed(0)
    plain = registry.build(name, MODELS[name], tokenizer)
    assert plain.config.dropout_rate > 0  # the recomputed forward pass must draw the stored pass's dropout masks
    checkpointed = copy.deepcopy(plain)
    checkpointed.set_activation_checkpointing(True)
    generator = torch.Generator().manual_seed(1)
    batch = {"input_ids": torch.randint(4, tokenizer.vocab_size, (2, 48), generator=generator),
             "labels": torch.randint(4, tokenizer.vocab_size, (2, 12), generator=generator)}

    plain_loss, plain_gradients = loss_and_gradients(plain, batch)
    checkpointed_loss, checkpointed_gradients = loss_and_gradients(checkpointed, batch)
    assert torch.equal(plain_loss, checkpointed_loss)
    assert plain_gradients.keys() == checkpointed_gradients.keys() and len(plain_gradients) > 10
    assert all(torch.equal(plain_gradients[k], checkpointed_gradients[k]) for k in plain_gradients)

    # It is recomputation: the checkpointed blocks keep fewer tensors for the backward pass.
    def saved_tensors(model) -> int:
        count = 0

        def pack(tensor):
            nonlocal count
            count += 1
            return tensor

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
            loss_and_gradients(model, batch)
        return count

    assert saved_tensors(checkpointed) < saved_tensors(plain)
    checkpointed.set_activation_checkpointing(False)
    assert saved_tensors(checkpointed) == saved_tensors(plain)


def test_the_option_reaches_the_model_through_the_trainer():
    from genolm.training.trainer import build_backbone

    tokenizer = tokenizers.build("byte")
    backbone = build_backbone({"name": "enbed-decoder", **MODELS["enbed-decoder"], "activation_checkpointing": True},
                              "random", tokenizer, seed=1)
    assert backbone.stack.gradient_checkpointing


def test_full_scale_enbed_pretraining_fits_its_gpu_by_activation_checkpointing():
    """Without it ENBED (98 GiB) and the decoder-only ablation (507 GiB) could not train on an 80 GiB GPU."""
    from conftest import REPO
    from genolm.commands.plan_compute import merge_configs, training_jobs
    from genolm.compute import plan_job
    from genolm.config import validate_config

    config = validate_config(merge_configs([REPO / "config" / "full_scale.yaml"]), source="full_scale.yaml")
    compute = {**config["compute"], "throughput_table": None}
    jobs = [job for job in training_jobs(config) if job.study == "enbed"
            and job.name.rsplit("/", 1)[0] in ("pretrain/enbed", "pretrain/enbed-decoder")]  # one per replicate
    assert {job.name.rsplit("/", 1)[0] for job in jobs} == {"pretrain/enbed", "pretrain/enbed-decoder"}
    gpu = compute["gpu_memory_gib"] * 2**30
    for job in jobs:
        plan = plan_job(job, compute)
        assert plan.cost.checkpointing and plan.cost.memory_bytes > gpu > plan.cost.memory_bytes_checkpointed
        assert plan.fits, plan.problems
