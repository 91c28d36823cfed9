"""The test Slurm that `.ci/slurm-up` starts: found and used, or the tests skipped, saying why.

    with slurm_cluster.running() as cluster:   # pytest.skip(reason) when there is none
        cluster.run("squeue")

`running()` points SLURM_CONF at the cluster for this process and every child (the
CLI, the queue's supervisor, the jobs). A cluster that `.ci/slurm-up
--stop-after-tests` started (as .ci/run does) is stopped by pid when it ends.
"""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SLURM_DIR = Path(os.environ.get("DLTUI_SLURM_DIR", "/tmp/dltui-slurm"))
DAEMONS = ("munged", "mariadbd", "slurmdbd", "slurmctld", "slurmd")


@dataclass
class Cluster:
    folder: Path
    conf: Path

    def run(self, *argv: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, SLURM_CONF=str(self.conf))
        return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                              env=env)

    def job_state(self, job_id: str) -> str:
        """Slurm's own word on a job (squeue while it remembers, else sacct)."""
        queue = self.run("squeue", "-h", "--states=all", "-o", "%T", "-j", job_id)
        if queue.returncode == 0 and queue.stdout.strip():
            return queue.stdout.split()[0]
        acct = self.run("sacct", "-n", "-X", "-P", "-o", "State", "-j", job_id)
        return acct.stdout.split()[0] if acct.stdout.split() else ""


def _alive(pid_file: Path) -> bool:
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


def find_cluster() -> Cluster | str:
    """The running test cluster, or why there is none."""
    conf = SLURM_DIR / "etc" / "slurm.conf"
    start = ("start one with `.ci/slurm-up` (as root with apt-get: it installs Debian's "
             "Slurm, munge and MariaDB; .ci/run does it)")
    if not conf.exists():
        return f"no test Slurm in {SLURM_DIR}: {start}"
    if shutil.which("sbatch") is None or shutil.which("srun") is None:
        return f"Slurm's commands (sbatch, srun) are not on PATH: {start}"
    down = [name for name in DAEMONS[2:] if not _alive(SLURM_DIR / "pids" / f"{name}.pid")]
    if down:
        return f"the test Slurm in {SLURM_DIR} is not running ({', '.join(down)} down): {start}"
    cluster = Cluster(SLURM_DIR, conf)
    try:
        nodes = cluster.run("sinfo", "-h", "-o", "%T", timeout=15)
        accounting = cluster.run("sacct", "-n", "-X", "-j", "1", timeout=15)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"the test Slurm does not answer: {err}"
    if not any(s.strip("*~#") in ("idle", "mixed", "allocated") for s in nodes.stdout.split()):
        return f"the test Slurm has no usable node (sinfo: {nodes.stdout.strip() or nodes.stderr})"
    if accounting.returncode != 0:
        return f"the test Slurm has no accounting (sacct: {accounting.stderr.strip()})"
    return cluster


@contextmanager
def running() -> Iterator[Cluster]:
    found = find_cluster()
    if isinstance(found, str):
        pytest.skip(found)
    before = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(found.conf)
    try:
        yield found
    finally:
        # A failed test may leave jobs behind (a sleeper never stopped): the cluster is
        # the tests' own, so nothing of theirs outlives the session.
        found.run("scancel", "--user", getpass.getuser())
        if before is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = before
        if (found.folder / "stop-after-tests").exists():
            subprocess.run([str(REPO / ".ci" / "slurm-down")], timeout=60, check=False)
