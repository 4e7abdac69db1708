"""A real HTTP server on 127.0.0.1 that serves a directory, with faults injected per path.

Tests that download use it in place of UCSC, NCBI, Ensembl or DepMap:

    from http_mirror import Fault, http_mirror  # noqa: F401  (the fixture)

    def test_x(http_mirror):
        (http_mirror.root / "a.gz").write_bytes(...)
        http_mirror.fault("a.gz", Fault(truncate_at=100, times=1))
        download(http_mirror.url("a.gz"), ...)
        assert [r.status for r in http_mirror.requests] == [200, 206]

Faults apply to the first `times` requests for their path (all requests when `times` is None). A directory
requested with a trailing slash is answered with an HTML index page, as NCBI's release directories are.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

HTML_PAGE = b"<!DOCTYPE html>\n<html><head><title>Maintenance</title></head><body>Back soon.</body></html>\n"


@dataclass
class Fault:
    status: int | None = None  # answer with this HTTP error status instead of the file
    truncate_at: int | None = None  # announce the full Content-Length, send this many body bytes, close
    html: bool = False  # answer 200 with an HTML page instead of the file
    delay: float = 0.0  # sleep this long before answering
    times: int | None = None  # how many requests the fault applies to; None: all


@dataclass(frozen=True)
class Request:
    path: str
    range: str | None  # the Range header the client sent
    status: int  # the status the server answered with


class HttpMirror:
    """Serves `root` over HTTP/1.0 on a random loopback port; records every request."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.ranges = True  # honour Range requests with 206; False: ignore them and answer 200
        self.requests: list[Request] = []
        self._faults: dict[str, Fault] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True  # a handler still sleeping in a delay must not block shutdown
        # A short poll interval: shutdown() waits for the next poll, and every test stops a server.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def start(self) -> HttpMirror:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def url(self, path: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/{urllib.parse.quote(path)}"

    def fault(self, path: str, fault: Fault) -> None:
        with self._lock:
            self._faults[path] = fault

    def requests_for(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            fault = self._faults.get(path)
            if fault is None or fault.times is None:
                return fault
            if fault.times <= 0:
                return None
            fault.times -= 1
            return fault

    def _record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)


def _handler_for(mirror: HttpMirror) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the name http.server dispatches to)
            path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
            range_header = self.headers.get("Range")
            fault = mirror._take_fault(path) or Fault()
            status, body, headers = self._response(path, range_header, fault)
            # Recorded before any delay, so a test sees the request its client gave up on.
            mirror._record(Request(path, range_header, status))
            if fault.delay:
                time.sleep(fault.delay)
            try:
                if body is None:
                    self.send_error(status)
                    return
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body if fault.truncate_at is None else body[: fault.truncate_at])
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timed out) first: that is the point of a delay fault
            self.close_connection = True

        def _response(
            self, path: str, range_header: str | None, fault: Fault
        ) -> tuple[int, bytes | None, dict[str, str]]:
            if fault.status is not None:
                return fault.status, None, {}
            if fault.html:
                return 200, HTML_PAGE, {"Content-Type": "text/html", "Content-Length": str(len(HTML_PAGE))}
            file = (mirror.root / path).resolve()
            if not file.is_relative_to(mirror.root.resolve()):
                return 404, None, {}
            if file.is_dir() and (not path or path.endswith("/")):
                # An index page like NCBI's and most mirrors': one <a href> per entry.
                links = "".join(f'<a href="{p.name}{"/" if p.is_dir() else ""}">{p.name}</a>\n'
                                for p in sorted(file.iterdir()))
                page = f"<!DOCTYPE html>\n<html><body><pre>\n{links}</pre></body></html>\n".encode()
                return 200, page, {"Content-Type": "text/html", "Content-Length": str(len(page))}
            if not file.is_file():
                return 404, None, {}
            body = file.read_bytes()
            headers = {"Content-Type": "application/octet-stream"}
            start = _range_start(range_header) if mirror.ranges else None
            if start is not None and start < len(body):
                headers["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
                headers["Content-Length"] = str(len(body) - start)
                return 206, body[start:], headers
            headers["Content-Length"] = str(len(body))
            return 200, body, headers

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's signature)
            pass  # requests are recorded in mirror.requests; stderr stays readable

    return Handler


def _range_start(header: str | None) -> int | None:
    # Only the "bytes=N-" form a resuming client sends.
    if header and header.startswith("bytes=") and header.endswith("-") and header[6:-1].isdigit():
        return int(header[6:-1])
    return None


@pytest.fixture
def http_mirror(tmp_path: Path) -> Iterator[HttpMirror]:
    """A started HttpMirror serving the (initially empty) directory `tmp_path / "mirror"`."""
    root = tmp_path / "mirror"
    root.mkdir()
    mirror = HttpMirror(root).start()
    try:
        yield mirror
    finally:
        mirror.stop()
