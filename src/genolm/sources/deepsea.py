"""The DeepSEA training bundle (Zhou & Troyanskaya 2015, `deepsea_train_bundle.v0.9.tar.gz`): chromatin-profile
labels of 1,000-bp sequences.

The bundle has `train.mat`, `valid.mat` and `test.mat`. `train.mat` is a MATLAB 7.3 file, i.e. HDF5 (read with
h5py): `trainxdata` is (1000, 4, N) and `traindata` (919, N), both stored column-major so h5py sees them
transposed from MATLAB's (N, 4, 1000) / (N, 919). `valid.mat` and `test.mat` are MATLAB v5 files (read with
scipy.io.loadmat): `validxdata` / `testxdata` (N, 4, 1000) and `validdata` / `testdata` (N, 919). The one-hot
channels are in A, G, C, T order (not alphabetical); an all-zero column is an N. The 919 labels are 125 DNase
I-hypersensitivity profiles (columns 0-124), 690 transcription-factor binding profiles (125-814) and 104 histone
marks (815-918).

`read_deepsea(path, limit)` returns the first `limit` examples as decoded strings and a float32 label matrix,
whichever format the file is; `LABEL_GROUPS` gives the three groups' column ranges.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genolm.errors import GenolmInputError

CHANNELS = "AGCT"  # DeepSEA's one-hot channel order
N_LABELS = 919
LABEL_GROUPS = {"DNase": range(0, 125), "TF": range(125, 815), "Histone": range(815, 919)}
_KEYS = {"train": ("trainxdata", "traindata"), "valid": ("validxdata", "validdata"), "test": ("testxdata", "testdata")}
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def label_groups() -> dict[str, list[int]]:
    return {name: list(columns) for name, columns in LABEL_GROUPS.items()}


def decode_onehot(onehot: np.ndarray, source: object, first_index: int = 0) -> list[str]:
    """(N, 4, L) one-hot in A, G, C, T order -> N strings; an all-zero position is N, more than one hot is an error."""
    if onehot.ndim != 3 or onehot.shape[1] != 4:
        raise GenolmInputError(source, f"expected one-hot sequences of shape (N, 4, L), got {onehot.shape}")
    hot = onehot.astype(bool)
    counts = hot.sum(axis=1)
    bad = np.argwhere(counts > 1)
    if len(bad):
        row, position = bad[0]
        raise GenolmInputError(source, f"position {position} has {counts[row, position]} bases set",
                               record=f"example {first_index + row}")
    codes = np.where(counts == 0, 4, hot.argmax(axis=1))
    letters = np.frombuffer((CHANNELS + "N").encode(), dtype=np.uint8)[codes]
    return [row.tobytes().decode("ascii") for row in letters]


def _split_of(path: Path, names: set[str]) -> str:
    for split, (x, _) in _KEYS.items():
        if x in names:
            return split
    raise GenolmInputError(path, f"no DeepSEA arrays in the file (found {sorted(names)}; expected one of "
                                 f"{', '.join(x for x, _ in _KEYS.values())})")


def read_deepsea(path: str | Path, limit: int | None = None) -> tuple[list[str], np.ndarray, str]:
    """(sequences, labels [N, 919] float32, split name) of the first `limit` examples of a DeepSEA .mat file."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(520)
    except OSError as error:
        raise GenolmInputError(path, f"cannot read: {error.strerror or error}") from None
    # HDF5 puts its signature at offset 0, or after a user block (MATLAB 7.3 writes a 512-byte header first).
    if head.startswith(_HDF5_MAGIC) or head[512:520] == _HDF5_MAGIC:
        return _read_hdf5(path, limit)
    return _read_v5(path, limit)


def _check_labels(path: Path, labels: np.ndarray, n: int) -> np.ndarray:
    if labels.shape != (n, N_LABELS):
        raise GenolmInputError(path, f"labels of shape {labels.shape}, expected ({n}, {N_LABELS})")
    return labels.astype(np.float32)


def _read_v5(path: Path, limit: int | None) -> tuple[list[str], np.ndarray, str]:
    from scipy.io import loadmat

    try:
        data = loadmat(str(path))
    except Exception as error:  # scipy raises ValueError, TypeError, MatReadError... for a bad file
        raise GenolmInputError(path, f"not a MATLAB v5 file: {error}") from None
    split = _split_of(path, set(data))
    x_key, y_key = _KEYS[split]
    onehot = data[x_key][:limit]
    labels = _check_labels(path, np.asarray(data[y_key][:limit]), len(onehot))
    return decode_onehot(onehot, path), labels, split


def _read_hdf5(path: Path, limit: int | None) -> tuple[list[str], np.ndarray, str]:
    try:
        import h5py
    except ImportError:
        raise GenolmInputError(path, "is MATLAB 7.3 (HDF5): install h5py to read it") from None
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise GenolmInputError(path, f"not an HDF5 file: {error}") from None
    with handle:
        split = _split_of(path, set(handle.keys()))
        x_key, y_key = _KEYS[split]
        x, y = handle[x_key], handle[y_key]
        # MATLAB writes column-major: h5py sees (L, 4, N) and (919, N).
        if x.ndim != 3 or x.shape[1] != 4 or y.ndim != 2:
            raise GenolmInputError(path, f"{x_key} of shape {x.shape} / {y_key} of shape {y.shape}: expected "
                                         "(L, 4, N) and (919, N) as MATLAB 7.3 stores them")
        n = x.shape[2] if limit is None else min(limit, x.shape[2])
        onehot = np.transpose(x[:, :, :n], (2, 1, 0))
        labels = _check_labels(path, np.transpose(y[:, :n]), n)
    return decode_onehot(onehot, path), labels, split
