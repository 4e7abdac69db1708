"""A fork server for `python -m genolm` on one machine: each command pays the heavy imports once per server.

A tiny training job spends most of its time importing torch, Lightning, torchmetrics, MLflow and polars
(docs/performance.md#fork-server). With `GENOLM_FORKSERVER` set to a directory, and outside a scheduler job
(`SLURM_JOB_ID` unset: a cluster node's job runs as a plain process), `python -m genolm <stage> ...` is a thin
client: it connects to a unix socket in that directory, hands over its argv, working directory, environment and
its standard streams (file descriptors 0, 1, 2, over SCM_RIGHTS), and waits. The server, a process that imported
the heavy modules once (and, like a training command, runs with jemalloc preloaded: genolm.runtime), forks a
child per connection; the child takes the client's streams, environment, directory and argv and runs
`genolm.cli.main`, exactly what the client would have run. The client exits with the child's status (128 + N
for a child killed by signal N) and forwards SIGTERM, SIGINT and SIGHUP to it; a child whose client dies
(SIGKILL) terminates itself (SIGTERM, so the command removes its partial outputs; SIGKILL after a grace period).

Which server: the socket's name is a hash of everything that makes one server's children interchangeable with
a fresh process: the interpreter, the genolm package directory, the newest modification time of genolm's files
(an edited tree never runs stale code) and the environment variables that act when a library is imported or
loaded (`INTERCHANGEABLE_ENV`). No server listening: the client starts one (detached, in its own session, under
a file lock so that concurrent clients start one) and waits for its socket. Anything failing on the way, the
client runs the command in-process as without the server (one debug line says why); the server never makes a
command fail. A server exits after `GENOLM_FORKSERVER_IDLE_S` seconds (default 120) without a connection and
no child running, removing its socket.

Results are those of a plain process: the server runs no torch operation (no OpenMP thread pool exists to be
forked), fixes no thread count (`--threads` is applied by the command, genolm.runtime.training_runtime) and the
child resets the random states a fresh process starts with (torch's default generator, NumPy's global one;
Python's `random` reseeds itself after a fork).

The client path imports only the standard library and runs before anything heavy (genolm/__main__.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import socket
import struct
import sys
import time

log = logging.getLogger(__name__)

ENV_DIRECTORY = "GENOLM_FORKSERVER"
ENV_IDLE = "GENOLM_FORKSERVER_IDLE_S"
DEFAULT_IDLE_S = 120.0
# How long a client waits for a server it started to listen (its imports take ~10 s on a loaded machine).
START_TIMEOUT_S = 180.0
# How long a child whose client died has to remove its partial outputs after SIGTERM, before SIGKILL.
ORPHAN_GRACE_S = 30.0
SERVER_COMMAND = "forkserver"
# Environment variables read when a library is imported or loaded (so fixed in a server for all its children):
# a different value needs a different server.
# Snakemake sets the thread variables to each job's `threads`: one server per thread count a workflow uses.
INTERCHANGEABLE_ENV = ("PYTHONPATH", "LD_PRELOAD", "LD_LIBRARY_PATH", "MALLOC_CONF", "OMP_NUM_THREADS",
                       "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                       "CUDA_VISIBLE_DEVICES", "GENOLM_ALLOCATOR", "GENOLM_JEMALLOC",
                       "HF_HOME", "HF_HUB_OFFLINE", "HF_HUB_CACHE", "TRANSFORMERS_OFFLINE", "TRANSFORMERS_CACHE",
                       "MPLBACKEND", "MPLCONFIGDIR")
# Modules a command may import, imported once by the server (a missing one, in an environment without it, is
# skipped). None of them runs a torch operation at import.
PRELOAD = ("torch", "numpy", "polars", "pyarrow", "pyarrow.parquet", "lightning", "lightning.pytorch", "torchmetrics",
           "transformers", "tokenizers", "safetensors", "mlflow", "mlflow.tracking", "mlflow.entities",
           "mlflow.exceptions", "mlflow.store.db.utils", "mlflow.store.tracking.sqlalchemy_store", "sqlalchemy",
           "alembic", "jsonschema", "yaml", "matplotlib", "matplotlib.pyplot", "genolm.training.trainer",
           "genolm.training.tracking", "genolm.training.checkpoints", "genolm.runtime", "genolm.inference",
           "genolm.analysis.plots", "genolm.results", "genolm.metrics", "genolm.config")
# The request's header: the JSON payload's length (8 bytes, sent with the three file descriptors).
_HEADER = struct.Struct("!Q")
# sun_path holds 108 bytes; a longer socket path is reached through its directory's /proc/self/fd entry.
_MAX_SOCKET_PATH = 100


# ---------------------------------------------------------------------------------------------------- client


def should_use_server(argv: list[str], environ: os._Environ | dict = os.environ) -> bool:
    """Whether `python -m genolm argv` goes through a fork server: the variable is set, this is no scheduler job,
    a stage is named (`--help` and `--version` alone stay in-process) and it is not the server itself."""
    if not environ.get(ENV_DIRECTORY) or environ.get("SLURM_JOB_ID"):
        return False
    stage = next((arg for arg in argv if not arg.startswith("-")), None)
    return stage is not None and stage != SERVER_COMMAND


def server_key(environ: os._Environ | dict = os.environ) -> str:
    """The hash naming the server whose children are interchangeable with a fresh process of this one."""
    package = os.path.dirname(os.path.abspath(__file__))
    newest = 0
    for directory, subdirectories, files in os.walk(package):
        subdirectories[:] = [d for d in subdirectories if d != "__pycache__"]
        for name in files:
            if name.endswith((".py", ".yaml")):
                newest = max(newest, os.stat(os.path.join(directory, name)).st_mtime_ns)
    identity = {"executable": sys.executable, "package": package, "newest_source_ns": newest,
                "env": {name: environ.get(name) for name in INTERCHANGEABLE_ENV}}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:20]


def socket_path(directory: str, environ: os._Environ | dict = os.environ) -> str:
    return os.path.join(os.path.abspath(directory), f"{server_key(environ)}.sock")


class _ShortAddress:
    """A socket path short enough for sun_path: the path itself, or /proc/self/fd/<dir fd>/<name> (Linux)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._directory_fd: int | None = None

    def __enter__(self) -> str:
        if len(os.fsencode(self.path)) <= _MAX_SOCKET_PATH:
            return self.path
        self._directory_fd = os.open(os.path.dirname(self.path), os.O_RDONLY | os.O_DIRECTORY)
        return f"/proc/self/fd/{self._directory_fd}/{os.path.basename(self.path)}"

    def __exit__(self, *exc) -> None:
        if self._directory_fd is not None:
            os.close(self._directory_fd)


def _connect(path: str) -> socket.socket | None:
    """A connection to the server listening on `path`; None if none does (no socket, or nobody accepts on it)."""
    deadline = time.monotonic() + 10
    while True:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with _ShortAddress(path) as address:
                client.connect(address)
            return client
        except BlockingIOError:  # EAGAIN: its backlog is full, so it lives
            client.close()
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)
        except OSError:
            client.close()
            return None


def _connect_or_start(directory: str) -> socket.socket:
    """A connection to this process's server, started if none listens. Raises OSError or RuntimeError."""
    import fcntl
    import subprocess

    os.makedirs(directory, exist_ok=True)
    path = socket_path(directory)
    connection = _connect(path)
    if connection is not None:
        return connection
    with open(path[:-len(".sock")] + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one client starts the server; the others find it when they get the lock
        connection = _connect(path)
        if connection is not None:
            return connection
        if os.path.lexists(path):
            os.unlink(path)  # a dead server's socket
        with open(path[:-len(".sock")] + ".log", "ab") as server_log:
            server = subprocess.Popen([sys.executable, "-m", "genolm", SERVER_COMMAND, "--socket", path],
                                      stdin=subprocess.DEVNULL, stdout=server_log, stderr=server_log,
                                      start_new_session=True, close_fds=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"the fork server exited with status {server.returncode} (log: {server_log.name})")
            connection = _connect(path)
            if connection is not None:
                return connection
            time.sleep(0.05)
        raise RuntimeError(f"the fork server did not listen within {START_TIMEOUT_S:.0f} s")


def _read_messages(connection: socket.socket):
    """The server's JSON lines, one dict at a time, until the connection closes."""
    buffered = b""
    while True:
        while b"\n" in buffered:
            line, buffered = buffered.split(b"\n", 1)
            yield json.loads(line)
        try:
            chunk = connection.recv(4096)
        except InterruptedError:
            continue
        if not chunk:
            return
        buffered += chunk


def run_through_server(argv: list[str]) -> int | None:
    """Run `genolm argv` in a child of the fork server and return its exit status; None when no server could
    take it (the caller then runs the command in-process)."""
    try:
        connection = _connect_or_start(os.environ[ENV_DIRECTORY])
    except (OSError, RuntimeError) as error:
        log.debug("genolm fork server unavailable, running in-process: %s", error)
        return None
    child: dict[str, int | None] = {"pid": None}
    pending: list[int] = []

    def forward(signum, _frame) -> None:
        if child["pid"] is None:
            pending.append(signum)  # sent once the child's pid is known
        else:
            try:
                os.kill(child["pid"], signum)
            except ProcessLookupError:
                pass

    request = json.dumps({"argv": argv, "argv0": sys.argv[0], "cwd": os.getcwd(), "path0": sys.path[0],
                          "env": dict(os.environ)}).encode()
    try:
        socket.send_fds(connection, [_HEADER.pack(len(request))], [0, 1, 2])
        connection.sendall(request)
    except OSError as error:
        connection.close()
        log.debug("genolm fork server refused the request, running in-process: %s", error)
        return None
    # Once the child sent its pid the command runs there: never run it a second time in-process.
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    for message in _read_messages(connection):
        if "pid" in message:
            child["pid"] = message["pid"]
            for signum in pending:
                forward(signum, None)
            pending.clear()
        elif "status" in message and child["pid"] is not None:
            status = message["status"]
            return 128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.waitstatus_to_exitcode(status)
        else:
            break  # a child that failed before it took the command: the command never ran
    connection.close()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL if signum != signal.SIGINT else signal.default_int_handler)
    if child["pid"] is None:
        # The server ended (idle) as this client connected, or could not set the child up: run it here.
        log.debug("genolm fork server ended before running the command, running in-process")
        for signum in pending:
            os.kill(os.getpid(), signum)
        return None
    print("genolm: the fork server closed the connection before the command ended", file=sys.stderr)
    return 1


# ---------------------------------------------------------------------------------------------------- server


def preload() -> None:
    """Import the modules commands use, so that each child starts with them. No torch operation runs."""
    import importlib

    from genolm.cli import command_modules
    from genolm.models.registry import MODELS

    modules = list(PRELOAD) + list(command_modules().values())
    modules += [target.split(":")[0] for target in MODELS.values() if isinstance(target, str)]
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as error:  # an environment without that library: its commands do not run here
            log.debug("fork server: not preloaded: %s (%s)", name, error)


def serve(path: str, idle_s: float) -> None:
    """Accept connections on `path` and fork a child for each; exit (removing the socket) once `idle_s` passed
    without a connection and no child runs."""
    import select

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with _ShortAddress(path) as address:
        listener.bind(address)
    listener.listen(128)
    wakeup_read, wakeup_write = os.pipe()
    os.set_blocking(wakeup_write, False)
    signal.set_wakeup_fd(wakeup_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes select() through the pipe when a child ends
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    children: dict[int, socket.socket] = {}
    last_connection = time.monotonic()
    try:
        while children or time.monotonic() - last_connection < idle_s:
            ready, _, _ = select.select([listener, wakeup_read], [], [], max(0.1, idle_s / 10))
            if wakeup_read in ready:
                os.read(wakeup_read, 4096)
            _report_ended(children)
            if listener in ready:
                connection, _ = listener.accept()
                last_connection = time.monotonic()
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    listener.close()
                    signal.set_wakeup_fd(-1)
                    os.close(wakeup_read)
                    os.close(wakeup_write)
                    for other in children.values():
                        other.close()
                    _run_child(connection)  # never returns
                children[pid] = connection
    finally:
        listener.close()
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def _report_ended(children: dict[int, socket.socket]) -> None:
    """Send each ended child's wait status to its client."""
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        connection = children.pop(pid, None)
        if connection is not None:
            try:
                connection.sendall(json.dumps({"status": status}).encode() + b"\n")
            except OSError:
                pass  # the client is gone
            connection.close()


def _receive_request(connection: socket.socket) -> tuple[dict, list[int]]:
    header, fds, _, _ = socket.recv_fds(connection, _HEADER.size, 3)
    while len(header) < _HEADER.size:
        more = connection.recv(_HEADER.size - len(header))
        if not more:
            raise EOFError("the client closed the connection")
        header += more
    (length,) = _HEADER.unpack(header)
    payload = bytearray()
    while len(payload) < length:
        more = connection.recv(min(1 << 20, length - len(payload)))
        if not more:
            raise EOFError("the client closed the connection")
        payload += more
    return json.loads(payload), fds


def _run_child(connection: socket.socket) -> None:
    """In the forked child: become the client's command, run it, and exit with its status."""
    server_log = os.dup(2)
    try:
        request = _become_client(connection)
    except BaseException:  # the command never started: the client runs it in-process; the reason goes to the log
        import traceback

        os.write(server_log, traceback.format_exc().encode())
        os._exit(1)
    os.close(server_log)
    status = 1
    try:
        from genolm.cli import main

        status = main(request["argv"])
    except SystemExit as exit_:
        if isinstance(exit_.code, str):
            print(exit_.code, file=sys.stderr)
        status = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        # os._exit, never a SystemExit through serve()'s frames (which would remove the server's socket); the
        # atexit handlers a plain process runs at its end run first.
        try:
            import atexit

            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(status)


def _become_client(connection: socket.socket) -> dict:
    """Take the client's streams, signals as a fresh process has them, its environment, directory and argv;
    tell the client this child's pid and watch its connection. Returns the request."""
    request, fds = _receive_request(connection)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    _buffer_standard_streams()
    server_environ = dict(os.environ)
    os.environ.clear()
    os.environ.update(request["env"])
    _as_preloaded(request["argv"], server_environ)
    os.chdir(request["cwd"])
    sys.argv = [request["argv0"], *request["argv"]]
    sys.path[0] = request["path0"]  # `python -m` puts the client's directory first, as it did the server's
    _fresh_process_state()
    connection.sendall(json.dumps({"pid": os.getpid()}).encode() + b"\n")
    _watch_client(connection)
    return request


def _buffer_standard_streams() -> None:
    """The server's sys.stdout and sys.stderr now write to the client's descriptors (dup2); they stay the same
    objects, which loggers made at import (Lightning's) hold. stdout is line-buffered on a terminal, as in a fresh
    process (stderr always is)."""
    sys.stdout.reconfigure(line_buffering=os.isatty(1))


def _as_preloaded(argv: list[str], server_environ: dict[str, str]) -> None:
    """A training command's environment as genolm.runtime.preload_allocator leaves it in a plain process (its
    subprocesses inherit the allocator), where the server itself was started so."""
    from genolm.runtime import TRAINING_COMMANDS

    stage = next((arg for arg in argv if not arg.startswith("-")), None)
    if stage in TRAINING_COMMANDS and server_environ.get("GENOLM_ALLOCATOR_TRIED"):
        for name in ("LD_PRELOAD", "MALLOC_CONF", "GENOLM_ALLOCATOR_TRIED"):
            if name in server_environ:
                os.environ[name] = server_environ[name]


def _fresh_process_state() -> None:
    """What a fresh process starts with and the server's imports may have changed or cached: torch's default
    generator at its default seed, NumPy's global generator from new entropy, the temporary directory from
    this environment's TMPDIR."""
    import tempfile

    tempfile.tempdir = None
    if "torch" in sys.modules:
        import torch

        torch.random.default_generator.set_state(torch.Generator().get_state())
    if "numpy" in sys.modules:
        import numpy

        numpy.random.seed()


def _watch_client(connection: socket.socket) -> None:
    """A daemon thread that terminates this child when its client's connection closes (the client died)."""
    import threading

    def watch() -> None:
        try:
            while connection.recv(4096):
                pass
        except OSError:
            pass
        os.kill(os.getpid(), signal.SIGTERM)  # the command's own handling removes its partial outputs
        time.sleep(ORPHAN_GRACE_S)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="genolm-forkserver-client", daemon=True).start()


def server_main(argv: list[str]) -> int:
    """`python -m genolm forkserver --socket PATH` (internal: started by a client)."""
    import argparse

    parser = argparse.ArgumentParser(prog="genolm forkserver")
    parser.add_argument("--socket", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    idle_s = float(os.environ.get(ENV_IDLE) or DEFAULT_IDLE_S)
    started = time.monotonic()
    preload()
    log.info("fork server %s: preloaded in %.1f s, pid %d", args.socket, time.monotonic() - started, os.getpid())
    serve(args.socket, idle_s)
    return 0
