"""Export to the Hugging Face layout: BERT, ALBERT, Longformer and ENBED (LongT5) directories load with
transformers' Auto classes in a process where genolm cannot be imported, and give genolm's logits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from genolm import models, tokenizers
from conftest import run_genolm
from zoo_util import random_dna, zoo_test_setup  # noqa: F401 (autouse fixture: seeded, one thread)

# Runs in a fresh interpreter where `import genolm` fails, so nothing of genolm can be used by the loading.
LOAD_WITHOUT_GENOLM = r"""
import json, sys
sys.modules["genolm"] = None
import numpy as np, torch, transformers
directory, inputs, out = sys.argv[1:4]
config = transformers.AutoConfig.from_pretrained(directory)
batch = {k: torch.as_tensor(v) for k, v in np.load(inputs).items()}
if config.is_encoder_decoder:
    model = transformers.AutoModelForSeq2SeqLM.from_pretrained(directory).eval()
else:
    model = transformers.AutoModelForMaskedLM.from_pretrained(directory).eval()
with torch.no_grad():
    logits = model(**batch).logits
np.save(out, logits.numpy())
print(type(model).__name__)
"""


def hf_logits(directory: Path, batch: dict, tmp_path: Path) -> tuple[np.ndarray, str]:
    inputs, out = tmp_path / "inputs.npz", tmp_path / "logits.npy"
    np.savez(inputs, **{k: v.numpy() for k, v in batch.items()})
    result = subprocess.run([sys.executable, "-c", LOAD_WITHOUT_GENOLM, str(directory), str(inputs), str(out)],
                            capture_output=True, text=True, timeout=300, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": ""})
    assert result.returncode == 0, result.stderr[-3000:]
    return np.load(out), result.stdout.strip()


ENCODERS = {
    "bert": {"preset": "bert-tiny", "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
             "intermediate_size": 64, "max_position_embeddings": 64},
    "albert": {"preset": "albert-small", "embedding_size": 16, "hidden_size": 32, "num_hidden_layers": 2,
               "num_attention_heads": 2, "intermediate_size": 64, "max_position_embeddings": 64},
    "longformer": {"preset": "longformer-small", "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
                   "intermediate_size": 64, "attention_window": 8, "max_position_embeddings": 64},
}


def saved_and_reloaded(model, tokenizer, directory: Path):
    """What a training job leaves (<job>/model), read back as any later stage reads it."""
    with torch.no_grad():  # weights that are not the initialisation: a round trip must carry them, not a seed
        for parameter in model.parameters():
            parameter.add_(0.01 * torch.randn_like(parameter))
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return models.from_pretrained(directory).eval()


@pytest.mark.parametrize("name", sorted(ENCODERS))
def test_masked_lm_export_loads_without_genolm_and_gives_equal_logits(tmp_path, name):
    tokenizer = tokenizers.build("kmer", k=3)
    model = saved_and_reloaded(models.build(name, ENCODERS[name], tokenizer=tokenizer), tokenizer, tmp_path / "model")
    sequences = random_dna(3, 40, seed=2) + ["ACGTACGTAC"]  # one shorter row: right padding is part of the check
    ids, mask = (torch.as_tensor(a) for a in tokenizer.encode_batch(sequences))
    with torch.no_grad():
        expected = model(ids, mask).logits.numpy()
    run_genolm("export-hf", "--model", str(tmp_path / "model"), "--out", str(tmp_path / "hf"))
    assert json.loads((tmp_path / "hf" / "config.json").read_text())["model_type"] == name
    batch = {"input_ids": ids, "attention_mask": mask}
    if name == "longformer":
        batch["global_attention_mask"] = (ids == tokenizer.cls_id).long()  # genolm's global attention on [CLS]
    logits, loaded_as = hf_logits(tmp_path / "hf", batch, tmp_path)
    assert loaded_as.endswith("ForMaskedLM")
    real = mask.bool().numpy()
    np.testing.assert_allclose(logits[real], expected[real], atol=1e-5, rtol=1e-5)


def enbed(radii: list[int]):
    tokenizer = tokenizers.build("byte")
    model = models.build("enbed", {"preset": "enbed-small", "d_model": 32, "d_kv": 8, "d_ff": 64, "num_heads": 2,
                                   "num_encoder_layers": len(radii), "num_decoder_layers": 1, "local_radius": radii,
                                   "global_block_size": 4}, tokenizer=tokenizer)
    return model, tokenizer


def test_enbed_export_loads_as_longt5_without_genolm_and_gives_equal_logits(tmp_path):
    model, tokenizer = enbed([8, 8])
    model = saved_and_reloaded(model, tokenizer, tmp_path / "model")
    ids, mask = (torch.as_tensor(a) for a in tokenizer.encode_batch(random_dna(2, 50, seed=3) + ["ACGT"]))
    labels, _ = (torch.as_tensor(a) for a in tokenizer.encode_batch(random_dna(3, 6, seed=4)))
    with torch.no_grad():
        expected = model(ids, mask, labels=labels).logits.numpy()
    model.export_hf(tmp_path / "hf")
    logits, loaded_as = hf_logits(tmp_path / "hf", {"input_ids": ids, "attention_mask": mask, "labels": labels}, tmp_path)
    assert loaded_as == "LongT5ForConditionalGeneration"
    np.testing.assert_allclose(logits, expected, atol=1e-5, rtol=1e-5)


def test_enbed_with_per_layer_radii_is_refused_not_exported_wrong(tmp_path):
    model, tokenizer = enbed([4, 8])
    model.save_pretrained(tmp_path / "model")
    result = run_genolm("export-hf", "--model", str(tmp_path / "model"), "--out", str(tmp_path / "hf"), check=False)
    assert result.returncode == 2 and "no Hugging Face equivalent" in result.stderr
    assert not (tmp_path / "hf").exists()


def test_hyenadna_has_no_hugging_face_class_to_export_to(tmp_path):
    model = models.build("hyenadna", {"preset": "tiny-1k", "d_model": 16, "n_layer": 1, "d_inner": 32,
                                      "filter_order": 16, "l_max": 66})
    with pytest.raises(ValueError, match="no Hugging Face equivalent"):
        model.export_hf(tmp_path / "hf")
