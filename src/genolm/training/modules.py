"""Lightning modules: the training logic, kept apart from the model code (models/)."""

from __future__ import annotations

import lightning as L
import torch
import torch.nn.functional as F
import torchmetrics

from genolm.models.heads import SequenceClassifier
from genolm.models.hyenadna import HyenaDNA
from genolm.training.optim import build_optimizer


class _OptimizedModule(L.LightningModule):
    def __init__(self, training: dict):
        super().__init__()
        self.training_config = training

    def configure_optimizers(self):
        optimizer, schedule = build_optimizer(self.parameters(), self.training_config)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}


class CausalLMModule(_OptimizedModule):
    """Next-token prediction on reference windows (HyenaDNA pretraining)."""

    def __init__(self, model: HyenaDNA, training: dict, pad_id: int):
        super().__init__(training)
        self.model = model
        self.pad_id = pad_id

    def _loss(self, batch) -> torch.Tensor:
        ids = batch["input_ids"]
        logits = self.model(ids[:, :-1])
        targets = ids[:, 1:].masked_fill(batch["attention_mask"][:, 1:] == 0, -100)
        return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)

    def training_step(self, batch, batch_idx):
        loss = self._loss(batch)
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/lr", self.trainer.optimizers[0].param_groups[0]["lr"])
        return loss

    def validation_step(self, batch, batch_idx):
        loss = self._loss(batch)
        self.log("val/loss", loss, prog_bar=True, sync_dist=True)
        self.log("val/perplexity", torch.exp(loss), sync_dist=True)

    def test_step(self, batch, batch_idx):
        loss = self._loss(batch)
        self.log("test/loss", loss, sync_dist=True)
        self.log("test/perplexity", torch.exp(loss), sync_dist=True)


class SequenceClassificationModule(_OptimizedModule):
    """Fine-tuning with a classification head; `frozen` trains the head only (linear evaluation)."""

    def __init__(self, classifier: SequenceClassifier, num_classes: int, training: dict, frozen: bool):
        super().__init__(training)
        self.classifier = classifier
        self.frozen = frozen
        if frozen:
            classifier.backbone.requires_grad_(False)
        metrics = torchmetrics.MetricCollection(
            {
                "accuracy": torchmetrics.Accuracy(task="multiclass", num_classes=num_classes),
                # Macro recall is balanced accuracy: each class weighs the same whatever its size.
                "balanced_accuracy": torchmetrics.Accuracy(task="multiclass", num_classes=num_classes, average="macro"),
                "f1_macro": torchmetrics.F1Score(task="multiclass", num_classes=num_classes, average="macro"),
                "mcc": torchmetrics.MatthewsCorrCoef(task="multiclass", num_classes=num_classes),
            }
        )
        self.val_metrics = metrics.clone(prefix="val/")
        self.test_metrics = metrics.clone(prefix="test/")

    def on_train_epoch_start(self) -> None:
        if self.frozen:
            # A frozen backbone also keeps its dropout off: it is a fixed feature extractor.
            self.classifier.backbone.eval()

    def _step(self, batch):
        logits = self.classifier(batch["input_ids"], batch["attention_mask"]).float()
        return logits, F.cross_entropy(logits, batch["labels"])

    def training_step(self, batch, batch_idx):
        logits, loss = self._step(batch)
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/accuracy", (logits.argmax(-1) == batch["labels"]).float().mean())
        self.log("train/lr", self.trainer.optimizers[0].param_groups[0]["lr"])
        return loss

    def validation_step(self, batch, batch_idx):
        logits, loss = self._step(batch)
        self.val_metrics.update(logits, batch["labels"])
        self.log("val/loss", loss, prog_bar=True, sync_dist=True)

    def on_validation_epoch_end(self) -> None:
        self.log_dict(self.val_metrics.compute(), prog_bar=True, sync_dist=True)
        self.val_metrics.reset()

    def test_step(self, batch, batch_idx):
        logits, loss = self._step(batch)
        self.test_metrics.update(logits, batch["labels"])
        self.log("test/loss", loss, sync_dist=True)

    def on_test_epoch_end(self) -> None:
        self.log_dict(self.test_metrics.compute(), sync_dist=True)
        self.test_metrics.reset()
