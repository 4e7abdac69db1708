"""What a model offers is declared (genolm.models.base.Capabilities), and objectives, variant scoring and the
studies' specs ask for it instead of a model's name; specs speak in bases, tokenizers and models do the token
arithmetic (tokens_for_bases, context_config)."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genolm import models, objectives, tokenizers
from genolm.config import check_registry_names, load_config
from genolm.errors import GenolmInputError
from genolm.inference.variants import make_scorer
from genolm.models.base import Capabilities, require_capability
from genolm.studies.cancer_type import specs as cancer_type
from genolm.studies.enbed import specs as enbed
from genolm.studies.small_transformers import specs as small_transformers
from genolm.studies.virbert import specs as virbert
from conftest import REPO, run_genolm

# What each model declares: (language-model logits, how it is trained), as each offered it before capabilities
# (then a `family` string: mlm, seq2seq, causal, bilm, none, sklearn, copy).
FAMILIES = {"bert": ("masked", "gradient"), "longformer": ("masked", "gradient"), "albert": ("masked", "gradient"),
            "longalbert": ("masked", "gradient"), "enbed": ("seq2seq", "gradient"),
            "enbed-decoder": ("causal", "gradient"), "hyenadna": ("causal", "gradient"), "cnn": (None, "gradient"),
            "bilstm": ("bilm", "gradient"), "cnn-lstm": (None, "gradient"), "kmer-logreg": (None, "fit"),
            "copy-parent": (None, "none")}


def test_every_registered_model_declares_capabilities_that_give_its_family():
    assert set(models.MODELS) >= set(FAMILIES)
    for name in models.MODELS:
        offered = models.model_class(name).capabilities
        assert isinstance(offered, Capabilities), name
    declared = {name: models.model_class(name).capabilities for name in FAMILIES}
    assert {name: (offered.language_model, offered.training) for name, offered in declared.items()} == FAMILIES
    generating = {name for name in FAMILIES if models.model_class(name).capabilities.generation}
    assert generating == {"enbed", "enbed-decoder", "copy-parent"}  # next_token_logits or generate()
    downsampling = {name for name in FAMILIES if models.model_class(name).capabilities.downsamples}
    assert downsampling == {"cnn", "cnn-lstm"}


def test_capabilities_refuse_unknown_kinds():
    with pytest.raises(ValueError, match="language_model 'mlm' is not one of"):
        Capabilities(language_model="mlm")
    with pytest.raises(ValueError, match="training 'sgd'"):
        Capabilities(training="sgd")


def test_objectives_fit_by_the_language_model_logits_offered():
    fits = {name: sorted(o for o, cls in objectives.OBJECTIVES.items() if cls.fits(models.model_class(name).capabilities))
            for name in ("bert", "hyenadna", "bilstm", "enbed", "cnn", "kmer-logreg")}
    assert fits == {"bert": ["kmer_mlm", "mlm", "sop", "strided_mlm"], "hyenadna": ["next_token"],
                    "bilstm": ["next_token"], "enbed": ["span_corruption"], "cnn": [], "kmer-logreg": []}
    assert objectives.default_for(models.model_class("hyenadna").capabilities) == {"name": "next_token"}
    assert objectives.default_for(models.model_class("bert").capabilities, {"name": "kmer_mlm", "k": 6}) == \
        {"name": "kmer_mlm", "k": 6}
    assert objectives.default_for(models.model_class("bert").capabilities, {"name": "span_corruption"}) == {"name": "mlm"}
    with pytest.raises(ValueError, match="no pretraining objective trains a model with no language-model logits"):
        objectives.default_for(models.model_class("cnn").capabilities)


def test_require_capability_names_what_is_missing():
    cnn = models.build("cnn", {"channels": [4], "dropout": [0.0]}, tokenizer=tokenizers.build("character"))
    with pytest.raises(ValueError, match="localization needs a model that offers generation; 'cnn' does not"):
        require_capability(cnn, "generation", "localization")
    with pytest.raises(ValueError, match="scoring needs a model with masked language-model logits; 'cnn' has no "
                                         "language-model head"):
        require_capability(cnn, "masked", "scoring")
    require_capability(cnn, "pooled_embedding", "a classifier")


def test_variant_scoring_refuses_a_model_without_language_model_logits_in_one_line():
    cnn = models.build("cnn", {"channels": [4], "dropout": [0.0]}, tokenizer=tokenizers.build("character"))
    with pytest.raises(GenolmInputError, match="'cnn' model has no language-model head: variants are scored with"):
        make_scorer(cnn, tokenizers.build("character"), "cpu")


# ---- bases -> tokens -> positions -------------------------------------------------------------------------------
@settings(deadline=None, max_examples=60)
@given(bases=st.integers(0, 3000), k=st.integers(1, 6), stride=st.integers(1, 6))
def test_kmer_tokens_for_bases_and_back(bases, k, stride):
    tokenizer = tokenizers.build("kmer", k=k, stride=stride)
    tokens = tokenizer.tokens_for_bases(bases)
    sequence = "ACGT" * (bases // 4) + "ACGT"[: bases % 4]
    assert tokens == len(tokenizer.encode(sequence))
    if tokens > 2:  # the bases those tokens cover: no more than the input, and the same tokens
        covered = tokenizer.bases_for_tokens(tokens)
        assert covered <= bases and tokenizer.tokens_for_bases(covered) == tokens


def test_tokens_for_bases_of_every_spec_kind():
    assert tokenizers.tokens_for_bases({"name": "character"}, 100) == 101  # [SEP]
    assert tokenizers.tokens_for_bases({"name": "byte"}, 100) == 101  # </s>
    assert tokenizers.tokens_for_bases({"name": "kmer", "k": 6, "stride": 3}, 100) == 32 + 2  # 32 6-mers, [CLS] [SEP]
    assert tokenizers.tokens_for_bases({"name": "kmer_bpe", "k": 6, "vocab_size": 50}, 100) == 102  # at most
    assert models.context_config("hyenadna", 101) == {"l_max": 102}
    assert models.context_config("longformer", 101) == {"max_position_embeddings": 101}
    assert models.context_config("enbed", 101) == {}  # relative positions


def backbone(**changes) -> dict:
    return {"model": "hyenadna", "preset": "tiny-1k", "context_length": 64, "overrides": {"d_model": 16},
            "pretraining": {"training": {"max_steps": 1}}, **changes}


def test_cancer_type_backbones_name_their_model_and_speak_in_bases():
    spec = cancer_type.pretraining_spec(backbone())
    assert spec["model"] == {"name": "hyenadna", "preset": "tiny-1k", "d_model": 16, "l_max": 66}
    assert spec["objective"] == {"name": "next_token"} and spec["context_length"] == 65
    bert = cancer_type.pretraining_spec(backbone(model="bert", preset="bert-mini", overrides={}))
    assert bert["model"] == {"name": "bert", "preset": "bert-mini", "max_position_embeddings": 65}
    assert bert["objective"] == {"name": "mlm"}  # what a masked LM offers, not HyenaDNA's next token
    study = {"backbones": {"b": backbone(model="bert", preset="bert-mini")}, "lineages": ["Lung", "Lymphoid"],
             "experiments": {"e": {"backbone": "b", "init": "frozen", "context_length": 32, "head": {"pooling": "mean"},
                                   "shuffle_labels": False}}}  # a validated block has it (schema default)
    assert cancer_type.model_name(study, "e") == "bert-bert-mini"
    assert cancer_type.experiment_spec(study, "e", "/m")["context_length"] == 33


def test_a_backbone_model_or_preset_the_registries_do_not_know_fails_validation():
    config = load_config(REPO / "tests" / "e2e" / "config.yaml")
    check_registry_names(config, "e2e")
    for key, value, message in (("model", "hyena", "backbones.tiny-1k.model: no model named 'hyena'"),
                                ("preset", "tiny-2k", "backbones.tiny-1k.preset: no hyenadna preset named 'tiny-2k'")):
        broken = copy.deepcopy(config)
        broken["studies"]["cancer_type"]["backbones"]["tiny-1k"][key] = value
        with pytest.raises(GenolmInputError, match=message):
            check_registry_names(broken, "e2e")


def test_enbed_pretraining_objective_comes_from_the_models_language_model_logits():
    def study(model: dict) -> dict:
        return {"architectures": {"a": {"tokenizer": {"name": "byte"}, "model": model}}, "corpus": {"length": 40},
                "pretraining": {"objective": {"name": "span_corruption", "mean_span_length": 3}, "training": {}}}

    assert enbed.pretraining_spec(study({"name": "enbed"}), "a")["objective"] == \
        {"name": "span_corruption", "mean_span_length": 3}
    decoder = enbed.pretraining_spec(study({"name": "enbed-decoder"}), "a")
    assert decoder["objective"] == {"name": "next_token"} and decoder["context_length"] == 41
    # A model the study never named before: its masked LM logits choose the objective, not its name.
    assert enbed.pretraining_spec(study({"name": "bert"}), "a")["objective"] == {"name": "mlm"}


def test_virbert_variants_name_their_model():
    variant = {"model": "albert", "k": 3, "stride": 1, "preset": "albert-small", "overrides": {},
               "objective": {"name": "kmer_mlm", "k": 3}, "max_length": 100, "max_tokens": 512, "training": {}}
    spec = virbert.pretraining_spec(variant)
    assert spec["model"]["name"] == "albert" and spec["context_length"] == 98 + 2
    study = {"variants": {"v": variant}, "arms": {"r": {"backbone": "v", "init": "random"}}}
    assert virbert.model_name(study, "r") == "albert-albert-small-v-random"


def test_small_transformers_positions_come_from_the_model():
    study = {"pretraining": {"p": {"tokenizer": {"name": "character"}, "model": {"name": "longformer"},
                                   "objective": {"name": "mlm"}, "context_length": 130},
                             "q": {"tokenizer": {"name": "character"}, "model": {"name": "cnn"},
                                   "objective": {"name": "mlm"}, "context_length": 130}}}
    assert small_transformers.pretraining_spec(study, "p")["model"] == {"name": "longformer",
                                                                        "max_position_embeddings": 130}
    assert small_transformers.pretraining_spec(study, "q")["model"] == {"name": "cnn"}  # no positions to size


def test_embedding_a_model_without_a_pooled_embedding_is_refused_in_one_line(tmp_path):
    model_dir = tmp_path / "copy"
    models.build("copy-parent").save_pretrained(model_dir)
    tokenizers.build("byte").save_pretrained(model_dir)
    (tmp_path / "s.fa").write_text(">a\nACGTACGT\n")
    result = run_genolm("embed-sequences", "--model", str(model_dir), "--sequences", str(tmp_path / "s.fa"),
                        "--out", str(tmp_path / "e.parquet"), "--chunk", "4", check=False)
    assert result.returncode == 2 and not (tmp_path / "e.parquet").exists()
    assert "genolm embed-sequences needs a model that offers pooled embedding; 'copy-parent' does not" in result.stderr
