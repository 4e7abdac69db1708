"""The tokenizer and the backbone of a spec, built (and so checked) before anything is written."""

from __future__ import annotations

from typing import Any

import lightning as L

from genolm import tokenizers
from genolm.errors import GenolmInputError
from genolm.heads.backbone import has_token_vocabulary, set_activation_checkpointing
from genolm.training.init_modes import load_backbone


def build_tokenizer(spec: dict, train_sequences: list[str], seed: int) -> Any:
    if "pretrained" in spec:
        return tokenizers.from_pretrained(spec["pretrained"])
    args = {k: v for k, v in spec.items() if k != "name"}
    try:
        if spec["name"] == "kmer_bpe":
            if "vocab_size" not in args:
                raise ValueError("a kmer_bpe tokenizer is learnt on the train split and needs a target vocab_size")
            # A BPE vocabulary is learnt from the corpus: here, the training split's windows.
            return tokenizers.KmerBPETokenizer.train(train_sequences, args.pop("k", None), args.pop("vocab_size"),
                                                     seed=args.pop("seed", seed), **args)
        return tokenizers.build(spec["name"], **args)
    except (TypeError, ValueError) as error:
        raise GenolmInputError("spec", f"key tokenizer: {error}") from None


def build_backbone(spec: dict, init: str, tokenizer: Any, seed: int) -> Any:
    model = dict(spec)
    name, checkpoint = model.pop("name", None), model.pop("checkpoint", None)
    # A training option rather than architecture, so it applies to a loaded checkpoint too.
    activation_checkpointing = model.pop("activation_checkpointing", None)
    # Fresh weights are drawn from the job's seed, so a rerun (or the same job on more processes) starts the same.
    L.seed_everything(seed, workers=True)
    try:
        backbone = load_backbone(init, checkpoint=checkpoint, name=name, config=model, tokenizer=tokenizer)
    except (TypeError, ValueError) as error:
        raise GenolmInputError("spec", f"key model: {error}") from None
    if checkpoint is not None and name is not None and backbone.name != name:
        raise GenolmInputError(checkpoint, f"holds a {backbone.name!r} model, the spec names {name!r}")
    if activation_checkpointing is not None:
        set_activation_checkpointing(backbone, activation_checkpointing)
    if has_token_vocabulary(backbone) and backbone.config.vocab_size < tokenizer.vocab_size:
        raise GenolmInputError("spec", f"the model's vocabulary ({backbone.config.vocab_size}) is smaller than the "
                                       f"tokenizer's ({tokenizer.vocab_size})")
    return backbone
