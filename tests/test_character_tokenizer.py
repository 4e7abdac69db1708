import json

import numpy as np
import pytest

from genolm.errors import GenolmInputError
from genolm.tokenizers import CharacterTokenizer


@pytest.fixture
def tok():
    return CharacterTokenizer()


def test_released_hyenadna_ids(tok):
    assert tok.vocab == {"[CLS]": 0, "[SEP]": 1, "[BOS]": 2, "[MASK]": 3, "[PAD]": 4, "[RESERVED]": 5,
                         "[UNK]": 6, "A": 7, "C": 8, "G": 9, "T": 10, "N": 11}
    assert (tok.vocab_size, tok.cls_id, tok.sep_id, tok.mask_id, tok.pad_id, tok.unk_id) == (12, 0, 1, 3, 4, 6)
    ids = tok.encode("GATTACAN")
    assert ids.dtype == np.int64
    assert ids.tolist() == [9, 7, 10, 10, 7, 8, 7, 11, 1]
    assert tok.encode("GATTACAN", add_special_tokens=False).tolist() == [9, 7, 10, 10, 7, 8, 7, 11]


def test_lowercase_n_and_other_characters(tok):
    assert tok.encode("acgtn", add_special_tokens=False).tolist() == [7, 8, 9, 10, 11]
    # IUPAC ambiguity codes, gaps and non-ASCII characters are one [UNK] each, never dropped or split.
    other = "RYKMSWBDHVryx-.*é"
    assert tok.encode(other, add_special_tokens=False).tolist() == [6] * len(other)
    assert tok.encode("", add_special_tokens=False).tolist() == []


def test_batch_right_padding_by_default_and_mask(tok):
    ids, mask = tok.encode_batch(["AC", "GTAC"])
    assert ids.dtype == np.int64 and mask.dtype == np.int64
    assert ids.tolist() == [[7, 8, 1, 4, 4], [9, 10, 7, 8, 1]]
    assert mask.tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]


def test_left_padding_on_request(tok):
    ids, mask = tok.encode_batch(["AC", "GTAC"], padding_side="left")
    assert ids.tolist() == [[4, 4, 7, 8, 1], [9, 10, 7, 8, 1]]
    assert mask.tolist() == [[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]]


def test_batch_right_padding_to_max_length(tok):
    ids, mask = tok.encode_batch(["AC", "G"], max_length=4, padding_side="right", add_special_tokens=False)
    assert ids.tolist() == [[7, 8, 4, 4], [9, 4, 4, 4]]
    assert mask.tolist() == [[1, 1, 0, 0], [1, 0, 0, 0]]


def test_truncation_keeps_start_and_sep(tok):
    ids, mask = tok.encode_batch(["ACGTACGT", "T"], max_length=4)
    assert ids.tolist() == [[7, 8, 9, 1], [10, 1, 4, 4]]
    assert mask.tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]
    with pytest.raises(ValueError, match="truncation"):
        tok.encode_batch(["ACGTACGT"], max_length=4, truncation=False)
    with pytest.raises(ValueError, match="padding_side"):
        tok.encode_batch(["A"], padding_side="middle")


def test_decode(tok):
    assert tok.decode(tok.encode("ACGTN")) == "ACGTN[SEP]"
    assert tok.decode([4, 7, 6, 1], skip_special_tokens=True) == "A"
    with pytest.raises(ValueError):
        tok.decode([12])


def test_save_load_round_trip(tok, tmp_path):
    path = tok.save_pretrained(tmp_path / "tok")
    assert path.name == "tokenizer_config.json"
    loaded = CharacterTokenizer.from_pretrained(tmp_path / "tok")
    assert loaded.vocab == tok.vocab
    assert loaded.encode("ACGTRN").tolist() == tok.encode("ACGTRN").tolist()
    assert [p.name for p in (tmp_path / "tok").iterdir()] == ["tokenizer_config.json"]


def test_load_rejects_other_vocab(tok, tmp_path):
    path = tok.save_pretrained(tmp_path)
    payload = json.loads(path.read_text())
    payload["vocab"]["A"] = 5
    path.write_text(json.dumps(payload))
    with pytest.raises(GenolmInputError, match="tokenizer_config.json.*vocab"):
        CharacterTokenizer.from_pretrained(tmp_path)
