"""BGZF, the blocked gzip of samtools/htslib: writing it with its `.gzi` index, and reading byte ranges back fast.

A BGZF file is a series of gzip members of at most 64 KiB uncompressed each, so any byte can be reached by
inflating one block. genolm writes its normalized FASTA files this way: `bgzip`, `samtools faidx` and pyfaidx
read them, and `read_range` below inflates a whole chromosome at zlib speed (pyfaidx's per-line reads through
Bio.bgzf are about 30 times slower on a whole chromosome).
"""

from __future__ import annotations

import bisect
import os
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

# bgzip's block payload (htslib BGZF_BLOCK_SIZE); incompressible data still fits the 64 KiB block limit.
BLOCK_SIZE = 0xFF00
_HEADER = struct.Struct("<4BI2BH2BHH")  # ID1 ID2 CM FLG MTIME XFL OS XLEN SI1 SI2 SLEN BSIZE
# The empty block that ends every BGZF file (SAM/BAM specification, section 4.1.2).
EOF_BLOCK = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


def is_bgzf_header(head: bytes) -> bool:
    """Whether bytes starting a file are a BGZF block header: gzip with an extra subfield "BC" (SAM/BAM
    specification, section 4.1)."""
    return len(head) >= 14 and head[:2] == b"\x1f\x8b" and bool(head[3] & 4) and head[12:14] == b"BC"


def missing_eof_block(path: str | os.PathLike) -> bool:
    """Whether a BGZF file lacks the empty block that ends every complete one.

    A BGZF file cut exactly at a block boundary is a valid series of gzip members, so decompressing it to the
    end cannot tell it is truncated; only the missing EOF block can. Files that are not BGZF return False.
    """
    with open(path, "rb") as handle:
        if not is_bgzf_header(handle.read(14)):
            return False
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        if size < len(EOF_BLOCK):
            return True
        handle.seek(size - len(EOF_BLOCK))
        return handle.read() != EOF_BLOCK


def gzi_path(path: Path) -> Path:
    return Path(f"{path}.gzi")


def _block(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    payload = compressor.compress(data) + compressor.flush()
    size = _HEADER.size + len(payload) + 8
    header = _HEADER.pack(31, 139, 8, 4, 0, 0, 255, 6, ord("B"), ord("C"), 2, size - 1)
    return header + payload + struct.pack("<II", zlib.crc32(data), len(data))


class BgzfWriter:
    """Writes a BGZF stream to `handle` and records its block offsets for the `.gzi` index.

    `tell()` is the uncompressed offset, which is what a `.fai` index records for a BGZF FASTA.
    """

    def __init__(self, handle: BinaryIO):
        self._handle = handle
        self._buffer = bytearray()
        self._compressed = 0
        self._uncompressed = 0
        self.blocks: list[tuple[int, int]] = []  # (compressed, uncompressed) start of every block after the first

    def write(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= BLOCK_SIZE:
            self._flush_block(bytes(self._buffer[:BLOCK_SIZE]))
            del self._buffer[:BLOCK_SIZE]

    def tell(self) -> int:
        return self._uncompressed + len(self._buffer)

    def _flush_block(self, data: bytes) -> None:
        if self._uncompressed:
            self.blocks.append((self._compressed, self._uncompressed))
        block = _block(data)
        self._handle.write(block)
        self._compressed += len(block)
        self._uncompressed += len(data)

    def close(self) -> None:
        if self._buffer:
            self._flush_block(bytes(self._buffer))
            self._buffer.clear()
        self._handle.write(EOF_BLOCK)

    def gzi_bytes(self) -> bytes:
        """The `.gzi` index as `bgzip -i` writes it: a count, then (compressed, uncompressed) offset pairs."""
        return gzi_bytes(self.blocks)


def read_gzi(path: Path) -> list[tuple[int, int]]:
    data = Path(path).read_bytes()
    if len(data) < 8:
        raise ValueError(f"{path}: not a .gzi index (shorter than its count)")
    (count,) = struct.unpack_from("<Q", data)
    if len(data) != 8 + 16 * count:
        raise ValueError(f"{path}: .gzi index announces {count} entries but holds {(len(data) - 8) / 16:g}")
    return [(0, 0)] + [struct.unpack_from("<QQ", data, 8 + 16 * i) for i in range(count)]


def read_range(path: Path, blocks: list[tuple[int, int]], start: int, length: int) -> bytes:
    """`length` uncompressed bytes from uncompressed offset `start`, using the blocks of `read_gzi`."""
    index = bisect.bisect_right([u for _, u in blocks], start) - 1
    compressed, uncompressed = blocks[index]
    out = bytearray()
    skip = start - uncompressed
    with open(path, "rb") as handle:
        handle.seek(compressed)
        inflate = zlib.decompressobj(31)
        pending = b""
        while len(out) < skip + length:
            chunk = pending or handle.read(1 << 20)
            pending = b""
            if not chunk:
                break
            out += inflate.decompress(chunk)
            if inflate.eof:
                pending = inflate.unused_data
                inflate = zlib.decompressobj(31)
    data = bytes(out[skip:skip + length])
    if len(data) != length:
        raise ValueError(f"{path}: ends before uncompressed byte {start + length}")
    return data


def walk_blocks(path: Path) -> tuple[list[tuple[int, int]], int]:
    """The (compressed, uncompressed) start of every block of a BGZF file, read from each block's header (its
    size, BSIZE) and footer (its uncompressed size, ISIZE): 22 bytes per 64 KiB of sequence, no inflating.
    Returns them with the total uncompressed size; raises ValueError where the file is not a chain of blocks."""
    blocks = []
    compressed = uncompressed = 0
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        while compressed < size:
            handle.seek(compressed)
            head = handle.read(18)
            if not is_bgzf_header(head) or head[14:16] != b"\x02\x00":
                raise ValueError(f"no BGZF block header at byte {compressed}")
            block_size = struct.unpack_from("<H", head, 16)[0] + 1
            if compressed + block_size > size:
                raise ValueError(f"the block at byte {compressed} runs past the end of the file")
            handle.seek(compressed + block_size - 4)
            (inflated,) = struct.unpack("<I", handle.read(4))
            blocks.append((compressed, uncompressed))
            compressed += block_size
            uncompressed += inflated
    return blocks, uncompressed


def gzi_entries(blocks: list[tuple[int, int]], total: int) -> list[tuple[int, int]]:
    """What a `.gzi` lists for the blocks of `walk_blocks`: every block after the first that holds data."""
    ends = [u for _, u in blocks[1:]] + [total]
    return [block for block, end in zip(blocks[1:], ends[1:]) if end > block[1]]


def gzi_bytes(entries: list[tuple[int, int]]) -> bytes:
    """The `.gzi` index as `bgzip -i` writes it: a count, then (compressed, uncompressed) offset pairs."""
    return struct.pack("<Q", len(entries)) + b"".join(struct.pack("<QQ", c, u) for c, u in entries)
