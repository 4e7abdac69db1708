"""A real single-node SLURM cluster for tests, on loopback, in a temporary directory.

It runs Debian's `munge` and `slurm-wlm` daemons (installed by `make system-deps`) as root: munged for
authentication, slurmctld as the controller and slurmd as the one compute node, which has the machine's CPUs and
memory (from `slurmd -C`), two fake GPUs of type `GPU_TYPE` (`gpu` GRES backed by /dev/null and /dev/zero:
enough for the scheduler to place `--gpus=[type:]N` jobs and set CUDA_VISIBLE_DEVICES; two, so that the
workflow's two pretraining jobs need not wait for each other) and two partitions, `cpu` (default) and `gpu`.
No cgroups: `proctrack/linuxproc`, `task/none`.
There is no accounting database; finished jobs stay visible to `squeue` for `MinJobAge` seconds, which is what the
snakemake slurm executor plugin's `--slurm-status-command squeue` relies on. Use it through the fixture, which
tests/conftest.py imports so that a session has one cluster whichever file asks for it:

    def test_x(slurm_cluster):
        slurm_cluster.run("sbatch", "--wrap", "hostname")          # a client command with the cluster's SLURM_CONF
        subprocess.run([...], env=slurm_cluster.env)                 # or any program that calls sbatch/squeue

Every daemon is started in the foreground as a child of the test process and killed by its pid at teardown. The
config is also installed as the default `/etc/slurm/slurm.conf` while the cluster runs (see DEFAULT_CONF), and
removed afterwards; a config that is not the fixture's own is never touched.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

DAEMONS = ("munged", "slurmctld", "slurmd")
MIN_JOB_AGE_S = 3600
GPU_TYPE = "testgpu"
# The client commands' default config. The executor plugin's job step runs each rule's command through a nested
# `srun` with the SLURM_* variables cleared, SLURM_CONF included, so inside a job only the default path finds the
# cluster, as on a real cluster whose config lives there.
DEFAULT_CONF = Path("/etc/slurm/slurm.conf")
MARKER = "# written by genolm's tests/slurm_cluster.py for the duration of a test session\n"


def missing_requirements() -> str | None:
    """Why the cluster cannot start here, or None."""
    absent = [tool for tool in (*DAEMONS, "mungekey", "sbatch", "squeue", "scontrol") if shutil.which(tool) is None]
    if absent:
        return f"not installed: {', '.join(absent)} (run `make system-deps` as root: Debian slurm-wlm and munge)"
    if os.geteuid() != 0:
        return "the test cluster's daemons run as root"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def node_hardware() -> dict[str, str]:
    """The machine as slurmd sees it (`slurmd -C`): CPUs, sockets, cores, threads, RealMemory."""
    out = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True).stdout
    fields = dict(re.findall(r"(\w+)=(\S+)", out.splitlines()[0]))
    keep = ("CPUs", "Boards", "SocketsPerBoard", "CoresPerSocket", "ThreadsPerCore", "RealMemory")
    return {key: fields[key] for key in keep if key in fields}


def slurm_conf(root: Path, host: str, hardware: dict[str, str], munge_socket: Path, ports: tuple[int, int]) -> str:
    node = " ".join(f"{k}={v}" for k, v in hardware.items())
    return f"""{MARKER}\
ClusterName=genolm-test
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ports[0]}
SlurmdPort={ports[1]}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={munge_socket}
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
MinJobAge={MIN_JOB_AGE_S}
KillWait=5
InactiveLimit=0
GresTypes=gpu
NodeName={host} NodeAddr=127.0.0.1 {node} Gres=gpu:{GPU_TYPE}:2 State=UNKNOWN
PartitionName=cpu Nodes={host} Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes={host} MaxTime=INFINITE State=UP
"""


@dataclass
class SlurmCluster:
    root: Path
    conf: Path
    node: str
    env: dict[str, str]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def run(self, *command: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        result = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(command)} failed ({result.returncode}): {result.stderr}\n{self.logs()}")
        return result

    def logs(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text()[-3000:]}" for path in sorted(self.root.glob("*.log")))

    def node_state(self) -> str:
        return self.run("sinfo", "--noheader", "--nodes", self.node, "--format=%T", check=False).stdout.strip()

    def job(self, job_id: str) -> dict[str, str]:
        """`scontrol show job` as a dict (finished jobs stay for MinJobAge)."""
        out = self.run("scontrol", "--oneliner", "show", "job", job_id).stdout
        return dict(re.findall(r"(\S+?)=(\S*)", out))

    def jobs(self) -> list[dict[str, str]]:
        out = self.run("scontrol", "--oneliner", "show", "job").stdout
        return [dict(re.findall(r"(\S+?)=(\S*)", line)) for line in out.splitlines() if line.startswith("JobId=")]

    def wait(self, predicate, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited ({process.returncode}) while waiting for {what}\n{self.logs()}")
            if predicate():
                return
            time.sleep(0.5)
        raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}\n{self.logs()}")

    def start(self) -> None:
        if DEFAULT_CONF.exists() and not DEFAULT_CONF.read_text().startswith(MARKER):
            raise RuntimeError(f"{DEFAULT_CONF} belongs to a real SLURM installation; the test cluster leaves it alone")
        DEFAULT_CONF.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.conf, DEFAULT_CONF)
        key, munge_socket = self.root / "munge.key", self.root / "munge.socket"
        subprocess.run(["mungekey", "--create", f"--keyfile={key}"], check=True, capture_output=True)
        self._spawn("munged", ["munged", "--foreground", "--force", f"--socket={munge_socket}", f"--key-file={key}",
                               f"--pid-file={self.root / 'munged.pid'}", f"--log-file={self.root / 'munged.log'}",
                               f"--seed-file={self.root / 'munged.seed'}"])
        self.wait(munge_socket.exists, "munged's socket", timeout=20)
        self._spawn("slurmctld", ["slurmctld", "-D", "-i", "-f", str(self.conf)])
        self.wait(lambda: self.run("scontrol", "ping", check=False).stdout.count("UP") > 0, "slurmctld", timeout=60)
        self._spawn("slurmd", ["slurmd", "-D", "-f", str(self.conf)])
        self.wait(lambda: self.node_state() == "idle", f"node {self.node} to be idle", timeout=90)

    def _spawn(self, name: str, command: list[str]) -> None:
        log = open(self.root / f"{name}.stdout.txt", "wb")
        self.processes[name] = subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                                start_new_session=True)
        log.close()

    def stop(self) -> None:
        # Jobs first (their steps are children of slurmd's slurmstepd), then the daemons in reverse order.
        if "slurmctld" in self.processes and self.processes["slurmctld"].poll() is None:
            self.run("scancel", "--full", "--user=root", check=False)
        for name in reversed(list(self.processes)):
            process = self.processes[name]
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if DEFAULT_CONF.exists() and DEFAULT_CONF.read_text() == self.conf.read_text():
            DEFAULT_CONF.unlink()


def start_cluster(root: Path) -> SlurmCluster:
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o700)  # munged refuses key and socket directories others can write to
    for sub in ("state", "spool"):
        (root / sub).mkdir(exist_ok=True)
    host = socket.gethostname().split(".")[0]
    conf = root / "slurm.conf"
    conf.write_text(slurm_conf(root, host, node_hardware(), root / "munge.socket", (free_port(), free_port())))
    # slurmd and slurmctld read gres.conf beside slurm.conf.
    devices = ("/dev/null", "/dev/zero")
    (root / "gres.conf").write_text("".join(f"Name=gpu Type={GPU_TYPE} File={device}\n" for device in devices))
    env = {**os.environ, "SLURM_CONF": str(conf)}
    for variable in [v for v in env if v.startswith(("SLURM_", "SBATCH_", "SRUN_")) and v != "SLURM_CONF"]:
        del env[variable]
    cluster = SlurmCluster(root=root, conf=conf, node=host, env=env)
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    return cluster


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory) -> Iterator[SlurmCluster]:
    reason = missing_requirements()
    if reason:
        pytest.skip(reason)
    # A short directory: the munge socket path must fit in a sockaddr_un (108 bytes).
    root = Path(tmp_path_factory.mktemp("slurm", numbered=True))
    cluster = start_cluster(root)
    try:
        yield cluster
    finally:
        cluster.stop()
