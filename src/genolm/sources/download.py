"""The one way genolm fetches a file: GRCh38, RefSeq, MitoFish, GenBank viral and DepMap all come through here.

A download streams to a temporary file beside the destination (`genolm.atomic.atomic_file`), resumes a broken
transfer with an HTTP Range request, verifies size, content and checksum, and only then moves the file into
place and writes `<dest>.provenance.json`. So `dest` exists only when it is complete and verified, and a rerun
with the same URL and checksum reuses it. http(s), ftp, `file://` URLs and plain local paths (a lab's own
mirror) all go through the same code.
"""

from __future__ import annotations

import ftplib
import http.client
import json
import logging
import posixpath
import stat
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO, Callable, TypeVar

from tqdm import tqdm

from genolm import __version__
from genolm.atomic import atomic_file
from genolm.sources.bgzf import EOF_BLOCK, is_bgzf_header
from genolm.sources.checksums import (
    ALGORITHMS,
    UNVERIFIABLE,
    lookup_checksum,
    new_hasher,
    normalise_checksum,
    parse_checksum_listing,
)
from genolm.errors import GenolmInputError

log = logging.getLogger(__name__)

EXPECT_KINDS = ("gzip", "zip", "text")

_CHUNK = 1 << 20
_PROGRESS_MIN_BYTES = 8 << 20
_USER_AGENT = f"genolm/{__version__} (+python-urllib)"

_T = TypeVar("_T")


@dataclass(frozen=True)
class Provenance:
    """Where a downloaded file came from and how it was checked; stored as `<dest>.provenance.json`."""

    url: str
    path: str
    size: int
    algorithm: str
    checksum: str
    verified: bool  # True when `checksum` was compared with a published or given value, not just computed
    retrieved_at: str  # ISO 8601, UTC


def provenance_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".provenance.json")


def read_provenance(dest: Path) -> Provenance:
    path = provenance_path(dest)
    try:
        return Provenance(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError) as error:
        raise GenolmInputError(path, f"cannot read provenance record: {error}") from error


def download(
    url: str,
    dest: Path,
    *,
    checksum: str | None = None,
    algorithm: str = "md5",
    checksum_listing: str | None = None,
    listing_name: str | None = None,
    expect: str | None = None,
    retries: int = 3,
    timeout: float = 60.0,
    backoff: float = 1.0,
    progress: bool = True,
) -> Provenance:
    """Fetch `url` to `dest`, verified, and return its provenance.

    `checksum` (in `algorithm`: md5, sha256 or bsdsum) or `checksum_listing` (the URL of a listing such as UCSC
    md5sum.txt, NCBI md5checksums.txt or Ensembl CHECKSUMS, in which the file's basename is looked up) gives
    the expected checksum. `expect` ("gzip", "zip", "text") adds content checks. `retries` is the number of
    further attempts after a transient failure (connection error, timeout, 5xx, short body), waiting
    `backoff * 2**n` seconds between them. Raises GenolmInputError naming the URL; nothing is left behind.
    """
    if checksum is not None and checksum_listing is not None:
        raise ValueError("give either checksum or checksum_listing, not both")
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {', '.join(ALGORITHMS)}, got {algorithm!r}")
    if expect is not None and expect not in EXPECT_KINDS:
        raise ValueError(f"expect must be one of {', '.join(EXPECT_KINDS)}, got {expect!r}")
    dest = Path(dest)
    source = _openable_url(url)
    retry = _Retry(retries, timeout, backoff)

    expected: tuple[str, str] | None = None
    if checksum is not None:
        expected = (algorithm, normalise_checksum(algorithm, checksum, url))
    elif checksum_listing is not None:
        listing = retry.run(lambda: _read_small(_openable_url(checksum_listing), timeout), checksum_listing)
        try:
            _refuse_html(listing[:1024], checksum_listing, "a checksum listing")
        except GenolmInputError as error:
            # Portals answer scripts with a browser check (DepMap's catalogue has been reported to): say how on.
            raise GenolmInputError(checksum_listing, f"{error.reason}. If it opens in a browser, save it there and "
                                   "give the saved file's path as checksum_listing, or give the file's md5 instead "
                                   "(config: sources.<source>.files.<file>.md5 without checksum_listing; command "
                                   "line: --md5)") from error
        entries = parse_checksum_listing(listing.decode("utf-8", errors="replace"), checksum_listing)
        expected = lookup_checksum(entries, listing_name or _basename(url), checksum_listing)
        if expected[0] in UNVERIFIABLE:
            log.warning("%s lists %s with a %s value genolm cannot recompute; the file is checked for complete "
                        "content only", checksum_listing, listing_name or _basename(url), expected[0])
            expected = None

    cached = _reusable(dest, url, expected)
    if cached is not None:
        log.info("%s: already downloaded from %s (%s)", dest, url, cached.retrieved_at)
        return cached

    # A stale file for another request must not survive a failed download of this one.
    for stale in (provenance_path(dest), dest):
        stale.unlink(missing_ok=True)
    try:
        # The temporary file is also what a retry resumes (HTTP Range) after a broken transfer; it is renamed
        # onto `dest` only once verified, and removed if the download fails.
        with atomic_file(dest) as part:
            retry.run(lambda: _transfer(source, url, part, timeout, progress), url)
            hash_algorithm = expected[0] if expected else algorithm
            actual = _verify(part, url, expect, hash_algorithm)
            if expected is not None and actual != expected[1]:
                raise GenolmInputError(
                    url,
                    f"{hash_algorithm} checksum mismatch: expected {expected[1]}, got {actual}"
                    " (corrupt, or changed upstream)",
                )
            size = part.stat().st_size
        record = Provenance(
            url=url,
            path=str(dest),
            size=size,
            algorithm=hash_algorithm,
            checksum=actual,
            verified=expected is not None,
            retrieved_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )
        with atomic_file(provenance_path(dest)) as tmp:
            tmp.write_text(json.dumps(asdict(record), indent=2) + "\n")
    except BaseException:
        # Whatever exists now was made by this call (stale files were removed above): none of it may stay.
        for leftover in (dest, provenance_path(dest)):
            leftover.unlink(missing_ok=True)
        raise
    log.info("%s: %d bytes from %s, %s %s%s", dest, record.size, url, record.algorithm, record.checksum,
             " (verified)" if record.verified else "")
    return record


def fetch_small(url: str, *, retries: int = 3, timeout: float = 60.0, backoff: float = 1.0) -> bytes:
    """The whole body of a small resource (a listing, an index page), with the same retries as `download`.

    Nothing is written and no content check is made: the caller knows what the text must look like.
    """
    return _Retry(retries, timeout, backoff).run(lambda: _read_small(_openable_url(url), timeout), url)


def local_path(url: str) -> Path | None:
    """The local path a `file://` URL or plain path names; None for http, https and ftp."""
    source = urllib.parse.urlsplit(_openable_url(url))
    return Path(urllib.request.url2pathname(source.path)) if source.scheme == "file" else None


@dataclass(frozen=True)
class ZipLimits:
    """What one archive may unpack to (the config's `archives` block, defaults in the schema)."""

    max_total_bytes: int
    max_ratio: float
    max_members: int


_RATIO_CHECKED_ABOVE = 1 << 20  # small members (a run of one base) compress far better than any real file


def safe_extract_zip(zip_path: Path, dest_dir: Path, limits: ZipLimits) -> list[Path]:
    """Extract a zip's regular files under `dest_dir`; return their paths.

    Members with absolute paths or ".." components, and symbolic links, are refused before anything is
    written: an archive must not be able to place a file outside `dest_dir`. So is an archive over `limits`
    (member count, total uncompressed size, compression ratio of a member), as its directory announces it and,
    since a directory can lie, as the bytes are really inflated.
    """
    zip_path, dest_dir = Path(zip_path), Path(dest_dir)
    try:
        archive = zipfile.ZipFile(zip_path)
    except (OSError, zipfile.BadZipFile) as error:
        raise GenolmInputError(zip_path, f"not a readable zip archive: {error}") from error
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        targets = [_member_target(zip_path, dest_dir, member) for member in members]
        _check_zip_limits(zip_path, members, limits)
        written: list[Path] = []
        total = 0
        try:
            for member, target in zip(members, targets):
                try:
                    with atomic_file(target) as part, archive.open(member) as src, open(part, "wb") as out:
                        inflated = 0
                        while chunk := src.read(_CHUNK):
                            inflated += len(chunk)
                            total += len(chunk)
                            if inflated > member.file_size or total > limits.max_total_bytes:
                                raise GenolmInputError(zip_path, "inflates to more than its directory announces or "
                                                                 f"than the limit of {limits.max_total_bytes} bytes "
                                                                 "(archives.max_total_bytes)", record=member.filename)
                            out.write(chunk)
                except (zipfile.BadZipFile, zlib.error, EOFError) as error:
                    raise GenolmInputError(zip_path, f"corrupt member: {error}", record=member.filename) from error
                written.append(target)
        except BaseException:
            for path in written:
                path.unlink(missing_ok=True)
            raise
    return written


def _check_zip_limits(zip_path: Path, members: list[zipfile.ZipInfo], limits: ZipLimits) -> None:
    if len(members) > limits.max_members:
        raise GenolmInputError(zip_path, f"{len(members)} members, more than the limit of {limits.max_members} "
                                         "(archives.max_members): raise it if the archive is genuine")
    total = sum(m.file_size for m in members)
    if total > limits.max_total_bytes:
        raise GenolmInputError(zip_path, f"unpacks to {total} bytes, more than the limit of {limits.max_total_bytes} "
                                         "(archives.max_total_bytes): raise it if the archive is genuine")
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > _RATIO_CHECKED_ABOVE and ratio > limits.max_ratio:
            raise GenolmInputError(zip_path, f"compression ratio {ratio:.0f}:1, more than the limit of "
                                             f"{limits.max_ratio:g}:1 (archives.max_ratio): a zip bomb, or raise "
                                             "the limit if the archive is genuine", record=member.filename)


def _member_target(zip_path: Path, dest_dir: Path, member: zipfile.ZipInfo) -> Path:
    name = member.filename
    if stat.S_ISLNK(member.external_attr >> 16):
        raise GenolmInputError(zip_path, "symbolic link members are refused (they can point outside the destination)",
                               record=name)
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise GenolmInputError(zip_path, "absolute member path refused", record=name)
    if ".." in parts:
        raise GenolmInputError(zip_path, "member path with '..' refused (it would escape the destination)", record=name)
    target = dest_dir.joinpath(*[p for p in parts if p not in ("", ".")])
    root = dest_dir.resolve()
    if not target.resolve().is_relative_to(root) or target.resolve() == root:
        raise GenolmInputError(zip_path, f"member path resolves outside {dest_dir}", record=name)
    return target


# ---------------------------------------------------------------------------------------------------------
# Transfer


class _ShortBody(Exception):
    """The connection ended before the announced number of bytes arrived."""


class _Retry:
    """Runs one attempt after another while failures are transient (network, timeout, 5xx, short body)."""

    def __init__(self, retries: int, timeout: float, backoff: float):
        self.attempts = max(retries, 0) + 1
        self.timeout = timeout
        self.backoff = backoff

    def run(self, attempt: Callable[[], _T], url: str) -> _T:
        for number in range(1, self.attempts + 1):
            try:
                return attempt()
            except (OSError, http.client.HTTPException, _ShortBody) as error:
                reason = self._transient_reason(error, url)
                if number == self.attempts:
                    raise GenolmInputError(
                        url, f"download failed after {self.attempts} attempt(s): {reason}"
                    ) from error
                delay = self.backoff * 2 ** (number - 1)
                log.warning("%s: attempt %d of %d failed (%s); retrying in %.1f s",
                            url, number, self.attempts, reason, delay)
                time.sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _transient_reason(self, error: BaseException, url: str) -> str:
        """Why a retry may help; raises GenolmInputError at once for failures a retry cannot fix."""
        if isinstance(error, urllib.error.HTTPError):
            if error.code in (408, 429) or error.code >= 500:
                return f"HTTP {error.code} {error.reason}"
            raise GenolmInputError(url, f"HTTP {error.code} {error.reason}") from error
        if isinstance(error, urllib.error.URLError):
            reason = error.reason
            is_local = urllib.parse.urlsplit(_openable_url(url)).scheme == "file"
            if is_local or isinstance(error.__cause__, ftplib.error_perm):
                # A missing FTP file or a missing local file stays missing.
                raise GenolmInputError(url, f"cannot open: {reason}") from error
            if isinstance(reason, TimeoutError):
                return f"timed out after {self.timeout:g} s"
            return str(reason)
        if isinstance(error, TimeoutError):
            return f"timed out after {self.timeout:g} s"
        return str(error) or type(error).__name__


def _openable_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "file" and parts.netloc not in ("", "localhost"):
        # file://data/x.csv names the host "data" and the path /x.csv: refuse it rather than read another file.
        raise GenolmInputError(url, f"a file:// URL with a host part ({parts.netloc!r}) does not name a relative "
                                    f"path: write file:///absolute/path, or a plain path")
    if scheme in ("http", "https", "ftp", "file"):
        return url
    if scheme and len(scheme) > 1:
        raise GenolmInputError(url, f"unsupported URL scheme {scheme!r} (use http, https, ftp, file or a local path)")
    return Path(url).expanduser().resolve().as_uri()


def _basename(url: str) -> str:
    return posixpath.basename(urllib.parse.unquote(urllib.parse.urlsplit(_openable_url(url)).path))


def _open(source: str, timeout: float, offset: int = 0):
    headers = {"User-Agent": _USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    return urllib.request.urlopen(urllib.request.Request(source, headers=headers), timeout=timeout)


def _read_small(source: str, timeout: float) -> bytes:
    with _open(source, timeout) as response:
        body = response.read()
        length = response.headers.get("Content-Length")
        if length is not None and length.isdigit() and len(body) != int(length):
            raise _ShortBody(f"received {len(body)} of {length} bytes")
        return body


def _transfer(source: str, url: str, part: Path, timeout: float, progress: bool) -> None:
    """One attempt: continue `part` from where an earlier attempt broke off, or start it afresh."""
    offset = part.stat().st_size if part.exists() else 0
    try:
        response = _open(source, timeout, offset)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:
            # The server cannot serve the remainder: start over rather than trust the partial file.
            part.unlink()
            raise _ShortBody("server refused to resume (HTTP 416); restarting") from error
        raise
    with response:
        length = response.headers.get("Content-Length")
        length = int(length) if length is not None and length.isdigit() else None
        if offset and response.status == 206:
            start, total = _content_range(response.headers.get("Content-Range"), offset, length)
            if start != offset:
                part.unlink()
                raise _ShortBody(f"server resumed at byte {start} instead of {offset}; restarting")
        else:
            # 200 (or a file:// or ftp answer, which has no status) to a Range request: the whole file again.
            if offset:
                log.info("%s: server does not resume transfers; restarting from the beginning", url)
            offset, total = 0, length
        received = offset
        bar = tqdm(total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
                   desc=_basename(url), file=sys.stderr, leave=False,
                   disable=True if not progress or (total or 0) < _PROGRESS_MIN_BYTES else None)
        with bar, _open_part(part, append=offset > 0) as out:
            while chunk := response.read(_CHUNK):
                _write(out, part, chunk)
                received += len(chunk)
                bar.update(len(chunk))
    if total is not None and received != total:
        raise _ShortBody(f"connection closed after {received} of {total} bytes")


def _content_range(header: str | None, offset: int, length: int | None) -> tuple[int, int | None]:
    # "bytes <start>-<end>/<total or *>"
    try:
        unit, _, span = (header or "").partition(" ")
        first, _, total = span.partition("/")
        start = int(first.partition("-")[0])
        if unit != "bytes":
            raise ValueError(unit)
    except ValueError:
        return -1, None
    if total.isdigit():
        return start, int(total)
    return start, None if length is None else offset + length


def _open_part(part: Path, append: bool) -> BinaryIO:
    try:
        return open(part, "ab" if append else "wb")
    except OSError as error:
        raise GenolmInputError(part, f"cannot write: {error}") from error


def _write(out: BinaryIO, part: Path, chunk: bytes) -> None:
    # A full disk is not a network failure: report it at once instead of retrying.
    try:
        out.write(chunk)
    except OSError as error:
        raise GenolmInputError(part, f"cannot write: {error}") from error


def _reusable(dest: Path, url: str, expected: tuple[str, str] | None) -> Provenance | None:
    if not dest.is_file() or not provenance_path(dest).is_file():
        return None
    try:
        record = read_provenance(dest)
    except GenolmInputError as error:
        log.warning("%s; downloading again", error)
        return None
    if record.url != url or record.size != dest.stat().st_size:
        return None
    if expected is not None and (record.algorithm, record.checksum) != expected:
        return None
    return record


# ---------------------------------------------------------------------------------------------------------
# Verification


def _verify(part: Path, url: str, expect: str | None, algorithm: str) -> str:
    """Check the content of a complete transfer in one pass; return its checksum in `algorithm`."""
    hasher = new_hasher(algorithm)
    check = {"gzip": _GzipCheck, "text": _TextCheck}.get(expect or "", _NoCheck)(url)
    with open(part, "rb") as src:
        head = src.read(_CHUNK)
        _refuse_html(head, url, f"{expect} data" if expect else "the data file")
        check.start(head)
        chunk = head
        while chunk:
            hasher.update(chunk)
            check.update(chunk)
            chunk = src.read(_CHUNK)
    check.finish()
    if expect == "zip":
        _check_zip(part, url)
    return hasher.hexdigest()


def _refuse_html(head: bytes, url: str, wanted: str) -> None:
    # Mirrors and portals answer a missing file or an expired session with a 200 and an HTML page.
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith((b"<!doctype html", b"<html")):
        raise GenolmInputError(url, f"server returned an HTML page instead of {wanted}")


class _NoCheck:
    def __init__(self, url: str):
        self.url = url

    def start(self, head: bytes) -> None:
        pass

    def update(self, chunk: bytes) -> None:
        pass

    def finish(self) -> None:
        pass


class _TextCheck(_NoCheck):
    """Text has no NUL bytes. The encoding is left to the reader: some sources are Latin-1, not UTF-8."""

    def __init__(self, url: str):
        super().__init__(url)
        self._offset = 0

    def update(self, chunk: bytes) -> None:
        position = chunk.find(b"\0")
        if position >= 0:
            raise GenolmInputError(
                self.url, f"binary data (a NUL byte at offset {self._offset + position}) where text was expected"
            )
        self._offset += len(chunk)


class _GzipCheck(_NoCheck):
    """Decompresses every member (bgzip files are many) to the end, so a truncated file cannot pass; a BGZF
    file must also end with its end-of-file block."""

    _OUT = 1 << 22  # bound on decompressed bytes held at once, whatever the compression ratio

    def __init__(self, url: str):
        super().__init__(url)
        self._inflate = zlib.decompressobj(wbits=31)
        self._bgzf = False
        self._tail = b""  # the last bytes seen: a BGZF file must end with its EOF block

    def start(self, head: bytes) -> None:
        if not head:
            raise GenolmInputError(self.url, "empty file where gzip data was expected")
        if not head.startswith(b"\x1f\x8b"):
            raise GenolmInputError(self.url, f"not gzip data (starts with {head[:8]!r})")
        self._bgzf = is_bgzf_header(head)

    def update(self, chunk: bytes) -> None:
        self._tail = (self._tail + chunk)[-len(EOF_BLOCK):]
        data = chunk
        try:
            while True:
                if self._inflate.eof:
                    if not data:
                        return
                    self._inflate = zlib.decompressobj(wbits=31)  # the next member
                out = self._inflate.decompress(data, self._OUT)
                if self._inflate.eof:
                    data = self._inflate.unused_data
                    continue
                data = self._inflate.unconsumed_tail
                if not data and len(out) < self._OUT:
                    return
        except zlib.error as error:
            raise GenolmInputError(self.url, f"corrupt gzip data: {error}") from error

    def finish(self) -> None:
        if not self._inflate.eof:
            raise GenolmInputError(self.url, "gzip data is truncated (the stream ends before its last member does)")
        if self._bgzf and self._tail != EOF_BLOCK:
            # Cut at a block boundary, a BGZF file is still a valid series of gzip members.
            raise GenolmInputError(self.url, "BGZF data without its end-of-file block: the download was cut short; "
                                             "fetch it again")


def _check_zip(part: Path, url: str) -> None:
    try:
        with zipfile.ZipFile(part) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
        raise GenolmInputError(url, f"not a valid zip archive: {error}") from error
    if bad is not None:
        raise GenolmInputError(url, "zip member fails its CRC check", record=bad)
