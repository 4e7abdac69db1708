"""Lightning modules: the training logic, kept apart from the model code (genolm.models).

    PretrainModule   a backbone trained by a pretraining objective (genolm.objectives)
    FinetuneModule   a backbone + task head (genolm.models.heads.TaskModel), scored by the head's torchmetrics
                     collection (genolm.heads)
    Seq2SeqModule    a model that generates a target sequence from an input sequence (the `generation` head):
                     teacher-forced cross-entropy on the target's tokens, for an encoder-decoder (the decoder reads
                     the shifted target) or a decoder-only prefix language model (input, end token, target)

Both build AdamW with the warmup-cosine schedule of genolm.training.optim.
"""

from __future__ import annotations

import logging

import lightning as L
import torchmetrics
from torch import Tensor, nn

from genolm.models.heads import TaskModel
from genolm.objectives import Objective
from genolm.training.optim import build_optimizer

log = logging.getLogger(__name__)


class OptimizedModule(L.LightningModule):
    def __init__(self, training: dict):
        super().__init__()
        self.training_config = training

    def configure_optimizers(self):
        optimizer, schedule = build_optimizer(self.parameters(), self.training_config)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    def log_lr(self) -> None:
        self.log("train/lr", self.trainer.optimizers[0].param_groups[0]["lr"])


class PretrainModule(OptimizedModule):
    # The validation metric of a pretraining job's training curve (besides the losses).
    history_metrics = ("val/perplexity",)

    def __init__(self, model: nn.Module, objective: Objective, training: dict):
        super().__init__(training)
        self.model = model
        self.objective = objective
        from genolm.metrics import token_metrics

        self.val_metrics = token_metrics(model.output_vocab_size).clone(prefix="val/")
        self.test_metrics = token_metrics(model.output_vocab_size).clone(prefix="test/")
        self.skipped_batches = {"val": 0, "test": 0}
        self.skipped_in_last_pass = {"val": 0, "test": 0}

    def training_step(self, batch, batch_idx):
        result = self.objective(self.model, batch)
        self.log("train/loss", result.loss, prog_bar=True)
        self.log_dict({f"train/{k}": v for k, v in result.extra.items()})
        self.log_lr()
        return result.loss

    def _evaluate(self, batch, split: str, metrics: torchmetrics.MetricCollection) -> None:
        result = self.objective(self.model, batch)
        if result.token_labels is not None and not result.token_labels.numel():
            # No token of the batch could be masked (all-N windows under k-mer masking): nothing is scored, and a
            # loss of 0 would flatter the split. The batch is skipped and counted (on_*_epoch_end).
            self.skipped_batches[split] += 1
            return
        self.log(f"{split}/loss", result.loss, prog_bar=split == "val", sync_dist=True)
        self.log_dict({f"{split}/{k}": v for k, v in result.extra.items()}, sync_dist=True)
        if result.token_logits is not None:
            metrics.update(result.token_logits, result.token_labels)

    def _end_evaluation(self, split: str, metrics: torchmetrics.MetricCollection) -> None:
        # The count of this pass stays readable (the trainer reports it with the split's metrics when not 0; under
        # DDP, this process's count).
        self.skipped_in_last_pass[split], self.skipped_batches[split] = self.skipped_batches[split], 0
        if self.skipped_in_last_pass[split]:
            log.warning("%s: %d batch(es) without a maskable token (e.g. all-N windows) skipped", split,
                        self.skipped_in_last_pass[split])
        if any(metric.update_called for metric in metrics.values()):  # else no token was scored: nothing to report
            self.log_dict(metrics.compute(), sync_dist=True)
        metrics.reset()

    def validation_step(self, batch, batch_idx):
        self._evaluate(batch, "val", self.val_metrics)

    def test_step(self, batch, batch_idx):
        self._evaluate(batch, "test", self.test_metrics)

    def on_validation_epoch_end(self) -> None:
        self._end_evaluation("val", self.val_metrics)

    def on_test_epoch_end(self) -> None:
        self._end_evaluation("test", self.test_metrics)


class FinetuneModule(OptimizedModule):
    """`frozen` keeps the backbone in eval mode (a fixed feature extractor: no dropout); which parameters train is
    set by genolm.training.init_modes before the optimizer is built.

    `predictions` collects each evaluated example's probabilities (in loader order) when `keep_predictions` is
    set: the trainer's per-unit metrics (a cell line's windows vote) then need no second pass over the split.

    `multilabel` (the head's): its outputs are independent sigmoids, not a softmax over classes or tokens."""

    def __init__(self, task: TaskModel, metrics: torchmetrics.MetricCollection, training: dict, frozen: bool,
                 multilabel: bool = False):
        super().__init__(training)
        self.task = task
        self.frozen = frozen
        self.val_metrics = metrics.clone(prefix="val/")
        self.test_metrics = metrics.clone(prefix="test/")
        self.keep_predictions = False
        self.predictions: list[Tensor] = []
        self.multilabel = multilabel

    def on_train_epoch_start(self) -> None:
        if self.frozen:
            self.task.backbone.eval()

    def _step(self, batch) -> tuple[Tensor, Tensor]:
        logits = self.task(batch["input_ids"], batch["attention_mask"])
        return logits, self.task.loss(logits, batch["labels"])

    def training_step(self, batch, batch_idx):
        logits, loss = self._step(batch)
        self.log("train/loss", loss, prog_bar=True)
        if not self.multilabel:
            self.log("train/accuracy", (logits.argmax(-1) == batch["labels"]).float().mean())
        self.log_lr()
        return loss

    def _evaluate(self, batch, split: str, metrics: torchmetrics.MetricCollection) -> None:
        logits, loss = self._step(batch)
        # Independent labels (MultiLabelHead) are sigmoids; classes and token positions a softmax.
        probabilities = logits.float().sigmoid() if self.multilabel else logits.float().softmax(-1)
        metrics.update(probabilities, batch["labels"])
        if self.keep_predictions:
            self.predictions.append(probabilities.detach().cpu())
        self.log(f"{split}/loss", loss, prog_bar=split == "val", sync_dist=True)

    def validation_step(self, batch, batch_idx):
        self._evaluate(batch, "val", self.val_metrics)

    def test_step(self, batch, batch_idx):
        self._evaluate(batch, "test", self.test_metrics)

    def on_validation_epoch_end(self) -> None:
        self.log_dict(self.val_metrics.compute(), prog_bar=True, sync_dist=True)
        self.val_metrics.reset()

    def on_test_epoch_end(self) -> None:
        self.log_dict(self.test_metrics.compute(), sync_dist=True)
        self.test_metrics.reset()


class Seq2SeqModule(OptimizedModule):
    """Teacher-forced training of a sequence-to-sequence model; the batch's `labels` are aligned with the model's
    logits (-100 where not scored), so both families share the loss and the token accuracy. Validation loss is
    what the checkpoint is chosen on; generation (beam search) is scored by the trainer after fitting."""

    def __init__(self, model: nn.Module, training: dict):
        super().__init__(training)
        self.model = model

    def _step(self, batch) -> tuple[Tensor, Tensor]:
        from genolm.heads.backbone import is_encoder_decoder
        from genolm.objectives.base import token_cross_entropy

        if self.model.capabilities.language_model == "seq2seq":
            out = self.model(batch["input_ids"], batch["attention_mask"], labels=batch["labels"])
        else:
            out = self.model(batch["input_ids"], batch["attention_mask"])
        loss = token_cross_entropy(out.logits, batch["labels"])
        scored = batch["labels"] != -100
        accuracy = (out.logits.argmax(-1) == batch["labels"])[scored].float().mean()
        return loss, accuracy

    def training_step(self, batch, batch_idx):
        loss, accuracy = self._step(batch)
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/token_accuracy", accuracy)
        self.log_lr()
        return loss

    def _evaluate(self, batch, split: str) -> None:
        loss, accuracy = self._step(batch)
        size = int((batch["labels"] != -100).sum())
        self.log(f"{split}/loss", loss, prog_bar=split == "val", sync_dist=True, batch_size=size)
        self.log(f"{split}/token_accuracy", accuracy, sync_dist=True, batch_size=size)

    def validation_step(self, batch, batch_idx):
        self._evaluate(batch, "val")

    def test_step(self, batch, batch_idx):
        self._evaluate(batch, "test")
