"""Parsers of the small-transformer study's downstream sources: the DeepSEA bundle (.mat, both formats, A/G/C/T
channel order) and EPDnew TSS windows (strand-aware), on small files in the real layouts."""

from __future__ import annotations

import numpy as np
import pytest

from genolm.errors import GenolmInputError
from genolm.qc import QCCounts
from genolm.sources import deepsea, epd

SEQUENCES = ["AGCTNAACGT", "TTGGCCAANN"]


def _onehot(sequences: list[str]) -> np.ndarray:
    out = np.zeros((len(sequences), 4, len(sequences[0])), dtype=np.uint8)
    for i, sequence in enumerate(sequences):
        for j, base in enumerate(sequence):
            if base in "AGCT":
                out[i, "AGCT".index(base), j] = 1
    return out


def _labels(n: int) -> np.ndarray:
    labels = np.zeros((n, 919), dtype=np.uint8)
    labels[0, [0, 124, 125, 814, 815, 918]] = 1
    return labels


def test_deepsea_v5_file_decodes_agct_order(tmp_path):
    from scipy.io import savemat

    path = tmp_path / "test.mat"
    savemat(path, {"testxdata": _onehot(SEQUENCES), "testdata": _labels(2)})  # MATLAB v5, as valid/test.mat
    sequences, labels, split = deepsea.read_deepsea(path)
    assert split == "test" and sequences == SEQUENCES
    assert labels.dtype == np.float32 and labels.shape == (2, 919)
    assert np.flatnonzero(labels[0]).tolist() == [0, 124, 125, 814, 815, 918]
    assert deepsea.read_deepsea(path, limit=1)[0] == SEQUENCES[:1]
    groups = deepsea.label_groups()
    assert [len(groups[g]) for g in ("DNase", "TF", "Histone")] == [125, 690, 104]


def test_deepsea_matlab73_hdf5_file_is_read_transposed(tmp_path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "train.mat"
    # MATLAB 7.3: a 512-byte user block (MATLAB's header), then HDF5 with the arrays stored column-major.
    with h5py.File(path, "w", userblock_size=512) as handle:
        handle["trainxdata"] = np.transpose(_onehot(SEQUENCES), (2, 1, 0))
        handle["traindata"] = np.transpose(_labels(2))
    with open(path, "r+b") as handle:
        handle.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2015 HDF5 schema 1.00 .")
    sequences, labels, split = deepsea.read_deepsea(path)
    assert split == "train" and sequences == SEQUENCES
    assert np.flatnonzero(labels[0]).tolist() == [0, 124, 125, 814, 815, 918]


def test_deepsea_bad_inputs_name_file_and_record(tmp_path):
    from scipy.io import savemat

    onehot = _onehot(SEQUENCES)
    onehot[1, :, 3] = 1  # four bases at once
    path = tmp_path / "valid.mat"
    savemat(path, {"validxdata": onehot, "validdata": _labels(2)})
    with pytest.raises(GenolmInputError, match=r"valid.mat: example 1: position 3 has 4 bases set"):
        deepsea.read_deepsea(path)
    wrong = tmp_path / "other.mat"
    savemat(wrong, {"x": np.zeros(3)})
    with pytest.raises(GenolmInputError, match="no DeepSEA arrays"):
        deepsea.read_deepsea(wrong)
    short = tmp_path / "test.mat"
    savemat(short, {"testxdata": _onehot(SEQUENCES), "testdata": np.zeros((2, 10))})
    with pytest.raises(GenolmInputError, match=r"labels of shape \(2, 10\), expected \(2, 919\)"):
        deepsea.read_deepsea(short)


# ---- EPD --------------------------------------------------------------------------------------------------------
GENOME = {"chr1": "AAAACCCCGGGGTTTTACGTACGTAC", "chr2": "ACGT"}


def test_epd_tss_windows_are_strand_aware(tmp_path):
    bed = tmp_path / "Hs_EPDnew_006_hg38.bed"
    # EPDnew layout: the promoter region -49..+10 (here shortened), thickStart..thickEnd = the TSS base.
    bed.write_text("track name=EPDnew\n"
                   "chr1\t3\t9\tGENEA_1\t900\t+\t5\t6\n"      # TSS = chr1[5] = C
                   "chr1\t10\t17\tGENEB_1\t900\t-\t12\t13\n"  # TSS = chr1[12] = T, transcribed leftwards
                   "chr1\t0\t2\tEDGE_1\t900\t+\t1\t2\n"
                   "chrUn\t0\t2\tNOWHERE_1\t900\t+\t1\t2\n")
    promoters = epd.read_epd_bed(bed)
    assert [(p.chrom, p.tss, p.strand) for p in promoters[:2]] == [("chr1", 5, "+"), ("chr1", 12, "-")]
    qc = QCCounts("epd")
    windows = dict((p.name, w) for p, w in epd.tss_windows(GENOME, promoters, upstream=3, downstream=2, qc=qc))
    assert windows["GENEA_1"] == "AACCCC" and windows["GENEA_1"][3] == "C"  # chr1[2:8], TSS chr1[5] at index 3
    # minus strand: chr1[10:16] = "GGTTTT" reverse-complemented = "AAAACC"; TSS (chr1[12] = T) -> A at index 3
    assert windows["GENEB_1"] == "AAAACC" and windows["GENEB_1"][3] == "A"
    assert qc.get("window_off_chromosome") == 1 and qc.get("chromosome_not_in_assembly", "chrUn") == 1


def test_epd_bad_lines_name_file_and_record(tmp_path):
    bed = tmp_path / "bad.bed"
    bed.write_text("chr1\t3\t9\tA\t900\t+\t5\t6\nchr1\t3\t9\tB\t900\t*\t5\t6\n")
    with pytest.raises(GenolmInputError, match=r"bad.bed: line 2: strand must be"):
        epd.read_epd_bed(bed)
    bed.write_text("chr1\t3\t9\tA\t900\t+\t5\t8\n")
    with pytest.raises(GenolmInputError, match=r"line 1: the TSS .* must be one base"):
        epd.read_epd_bed(bed)
