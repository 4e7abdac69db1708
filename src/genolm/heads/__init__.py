"""Task heads as registered objects (genolm.heads.base.Head): one file per head, each registered by name.

    classification   a class per example from the pooled states (`label` column)
    multilabel       independent yes/no per label name (`targets` vector column)
    localization     which token holds the base at `anchor_offset`
    split_concat     classification of an input cut in two halves, each encoded separately
    generation       the `target_sequence` of each input, by beam search (encoder-decoder, decoder-only, copy)

A new head is one file (a Head subclass decorated with `@register`) plus its import below; the schema's
`head.name` is checked against this registry (genolm.config.check_head_name), and the trainer asks the head for
everything task-specific. The layers themselves (pooling, ClassificationHead, TaskModel) are genolm.models.heads.
"""

from __future__ import annotations

from genolm.heads.registry import HEADS, build_head, head, names, register
from genolm.heads import classification, generation, localization, multilabel, split_concat  # noqa: E402,F401  (registers)
from genolm.heads.model_dir import load_task_model, save_model_dir  # noqa: E402

__all__ = ["HEADS", "build_head", "head", "load_task_model", "names", "register", "save_model_dir"]
