"""Task heads, init modes and metrics."""

from __future__ import annotations

import lightning as L
import numpy as np
import pytest
import torch
from sklearn.metrics import balanced_accuracy_score, matthews_corrcoef, roc_auc_score

from genolm import models, tokenizers
from genolm.metrics import classification_metrics, edit_distances, multilabel_metrics, token_metrics
from genolm.models.heads import (
    ClassificationHead,
    MultiLabelHead,
    SplitConcatHead,
    TaskModel,
    TokenLocalizationHead,
    pool_hidden_states,
)
from genolm.models.base import ModelOutput
from genolm.objectives.base import encode
from genolm.training.init_modes import GradualUnfreezing, load_backbone, prepare_for_finetuning
from zoo_util import overfit, random_dna, zoo_test_setup  # noqa: F401 (zoo_test_setup: autouse fixture)

BERT = {"hidden_size": 16, "num_hidden_layers": 3, "num_attention_heads": 2, "intermediate_size": 32,
        "max_position_embeddings": 64, "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}


def test_cls_pooling_takes_the_first_real_token():
    hidden = torch.arange(24, dtype=torch.float32).reshape(2, 4, 3)
    mask = torch.tensor([[1, 1, 1, 0], [0, 0, 1, 1]])  # right and left padding
    assert torch.equal(pool_hidden_states(hidden, mask, "cls"), torch.stack([hidden[0, 0], hidden[1, 2]]))
    with pytest.raises(ValueError, match="'cls', 'mean' or 'last'"):
        pool_hidden_states(hidden, mask, "max")


def test_deeper_head_is_dense_tanh_dropout_then_linear():
    head = ClassificationHead(8, 3, pooling="mean", hidden_size=2048, dropout=0.0)
    assert head.dense.out_features == 2048 and head.out.in_features == 2048
    output = ModelOutput(hidden=torch.randn(2, 5, 8), mask=torch.ones(2, 5, dtype=torch.long))
    pooled = output.hidden.mean(1)
    assert torch.allclose(head(output), head.out(torch.tanh(head.dense(pooled))), atol=1e-6)
    assert ClassificationHead(8, 3).dense is None


def test_multilabel_loss_weighs_positives():
    head = MultiLabelHead(4, 2, pos_weight=[3.0, 1.0])
    logits, labels = torch.tensor([[0.5, -1.0], [2.0, 0.1]]), torch.tensor([[1, 0], [0, 1]])
    p = torch.sigmoid(logits)
    weight = torch.tensor([3.0, 1.0])
    expected = -(weight * labels * torch.log(p) + (1 - labels) * torch.log(1 - p)).mean()
    assert torch.allclose(head.loss(logits, labels), expected)
    with pytest.raises(ValueError, match="pos_weight needs 2 values"):
        MultiLabelHead(4, 2, pos_weight=[1.0])


def test_localization_scores_real_tokens_only():
    head = TokenLocalizationHead(4)
    mask = torch.tensor([[1, 1, 1, 0, 0]])
    logits = head(ModelOutput(hidden=torch.randn(1, 5, 4), mask=mask))
    assert logits.shape == (1, 5)
    assert (logits.softmax(-1)[0, 3:] == 0).all()


def test_localization_head_overfits_site_positions():
    tokenizer = tokenizers.build("character")
    backbone = models.build("bert", BERT, tokenizer=tokenizer)
    task = TaskModel(backbone, TokenLocalizationHead(backbone.d_model, dropout=0.0))
    sequences = random_dna(6, 30, seed=1)
    sites = torch.tensor([3, 10, 17, 25, 8, 1])
    sequences = [s[:p] + "N" + s[p + 1:] for s, p in zip(sequences, sites.tolist())]  # the site is visible
    ids, mask = encode(tokenizer, sequences, 31)
    first, last = overfit(task.parameters(), lambda: task.loss(task(ids, mask), sites), steps=80, lr=1e-2)
    assert last < 0.1 * first
    assert torch.equal(task(ids, mask).argmax(-1), sites)


def test_split_concat_sees_both_halves():
    tokenizer = tokenizers.build("kmer", k=3)
    backbone = models.build("bert", BERT, tokenizer=tokenizer).eval()
    head = SplitConcatHead(backbone.d_model, 2, hidden_size=32, dropout=0.0)
    task = TaskModel(backbone, head).eval()
    sequences = random_dna(4, 80, seed=2)
    halves = [h for s in sequences for h in (s[:40], s[40:])]
    ids, mask = (t.view(4, 2, -1) for t in encode(tokenizer, halves, 40))
    assert head.dense.in_features == 2 * backbone.d_model
    with torch.no_grad():
        logits = task(ids, mask)
        changed = ids.clone()
        changed[0, 1, 5] = tokenizer.mask_id  # only the second half of the first example
        other = task(changed, mask)
    assert logits.shape == (4, 2)
    assert not torch.allclose(logits[0], other[0]) and torch.equal(logits[1:], other[1:])


def test_init_modes_and_gradual_unfreezing(tmp_path):
    tokenizer = tokenizers.build("kmer", k=3)
    backbone = models.build("bert", BERT, tokenizer=tokenizer)
    backbone.save_pretrained(tmp_path / "pre")
    loaded = load_backbone("pretrained", checkpoint=tmp_path / "pre", name=None, config={}, tokenizer=tokenizer)
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), backbone.state_dict().values()))
    fresh = load_backbone("random", checkpoint=tmp_path / "pre", name=None, config={}, tokenizer=tokenizer)
    assert fresh.config == backbone.config
    assert not torch.equal(fresh.hf.bert.encoder.layer[0].attention.self.query.weight,
                           backbone.hf.bert.encoder.layer[0].attention.self.query.weight)

    frozen = load_backbone("frozen", checkpoint=tmp_path / "pre", name=None, config={}, tokenizer=tokenizer)
    prepare_for_finetuning(frozen, "frozen")
    assert not any(p.requires_grad for p in frozen.parameters())

    prepare_for_finetuning(loaded, "pretrained")
    # The masked-LM transform is not under a task head: frozen in every mode; the trunk trains.
    assert not loaded.hf.cls.predictions.transform.dense.weight.requires_grad
    assert loaded.hf.bert.embeddings.word_embeddings.weight.requires_grad

    callback = GradualUnfreezing(loaded, every_n_steps=10)
    groups = loaded.layer_groups()  # embeddings, 3 layers
    trainable = lambda: [all(p.requires_grad for p in g.parameters()) for g in groups]  # noqa: E731
    callback.apply(0)
    assert trainable() == [False, False, False, False]
    callback.apply(10)
    assert trainable() == [False, False, False, True]
    callback.apply(25)
    assert trainable() == [False, False, True, True]
    callback.apply(1000)
    assert trainable() == [True, True, True, True]
    with pytest.raises(Exception, match="needs a checkpoint"):
        load_backbone("frozen", checkpoint=None, name="bert", config={}, tokenizer=tokenizer)


def test_gradual_unfreezing_in_a_lightning_run():
    tokenizer = tokenizers.build("kmer", k=3)
    backbone = models.build("bert", BERT, tokenizer=tokenizer)
    prepare_for_finetuning(backbone, "gradual")
    task = TaskModel(backbone, ClassificationHead(backbone.d_model, 2, dropout=0.0))
    start = {k: v.clone() for k, v in backbone.state_dict().items()}
    ids, mask = encode(tokenizer, random_dna(8, 20), 20)
    labels = torch.arange(8) % 2

    class Module(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.task = task

        def training_step(self, batch, batch_idx):
            return self.task.loss(self.task(ids, mask), labels)

        def configure_optimizers(self):
            return torch.optim.SGD([p for p in self.parameters() if p.requires_grad], lr=0.1)

    trainer = L.Trainer(max_steps=3, callbacks=[GradualUnfreezing(backbone, every_n_steps=2)], logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(Module(), train_dataloaders=torch.utils.data.DataLoader([0] * 3, batch_size=1))
    changed = {k for k, v in backbone.state_dict().items() if not torch.equal(v, start[k])}
    # Steps 0-1: head only; step 2: the top layer too. Nothing below it moved.
    assert changed and all(k.startswith("hf.bert.encoder.layer.2.") for k in changed)


def test_classification_metrics_agree_with_scikit_learn():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 200)
    probs = rng.dirichlet([1, 1, 1], 200)
    probs[np.arange(200), labels] += rng.random(200)  # better than chance
    probs /= probs.sum(1, keepdims=True)
    metrics = classification_metrics(3, top_k=(2,))
    metrics.update(torch.from_numpy(probs).float(), torch.from_numpy(labels))
    values = {k: float(v) for k, v in metrics.compute().items()}
    predicted = probs.argmax(1)
    assert values["accuracy"] == pytest.approx((predicted == labels).mean())
    assert values["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(labels, predicted))
    assert values["recall_macro"] == pytest.approx(values["balanced_accuracy"])
    assert values["mcc"] == pytest.approx(matthews_corrcoef(labels, predicted), abs=1e-6)
    assert values["auroc_macro"] == pytest.approx(roc_auc_score(labels, probs, multi_class="ovr"), abs=1e-4)
    top2 = np.argsort(-probs, 1)[:, :2]
    assert values["top2_accuracy"] == pytest.approx((top2 == labels[:, None]).any(1).mean())


def test_multilabel_auroc_per_label_and_group():
    rng = np.random.default_rng(1)
    target = rng.integers(0, 2, (100, 3))
    scores = rng.random((100, 3)) + 0.5 * target
    metrics = multilabel_metrics(["CTCF", "DNase", "H3K4me3"], groups={"histone": ["H3K4me3"], "tf_dnase": ["CTCF", "DNase"]})
    metrics.update(torch.from_numpy(scores).float(), torch.from_numpy(target))
    values = {k: float(v) for k, v in metrics.compute().items()}
    per_label = [roc_auc_score(target[:, i], scores[:, i]) for i in range(3)]
    assert values["auroc/CTCF"] == pytest.approx(per_label[0], abs=1e-5)
    assert values["auroc_group/tf_dnase"] == pytest.approx(np.mean(per_label[:2]), abs=1e-5)
    assert values["auroc_group/histone"] == pytest.approx(per_label[2], abs=1e-5)


def test_token_metrics_and_edit_distances():
    logits = torch.log(torch.tensor([[[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]]]))
    labels = torch.tensor([[0, 2, -100]])
    metrics = token_metrics(3)
    metrics.update(logits, labels)
    values = metrics.compute()
    assert values["masked_accuracy"] == pytest.approx(0.5)
    assert values["perplexity"] == pytest.approx(float(np.exp(-(np.log(0.7) + np.log(0.1)) / 2)), rel=1e-5)
    assert edit_distances(["ACGTA", "GATTACA", "AC"], ["ACTA", "GATTACA", "GT"]).tolist() == [1.0, 0.0, 2.0]
