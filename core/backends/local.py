"""The local backend: the run wrapper as a detached process of this machine."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from dltui.backends import LineSink
from dltui.procs import hostname, is_alive, process_start_ticks
from dltui.store import rundir as rd
from dltui.store.spec import RunSpec
from dltui.store.status import RunStatus

# A run is `starting` between the queue's decision and its wrapper's first write.
START_GRACE = 5.0


def signal_group(status: RunStatus, signum: int) -> None:
    """Send `signum` to the run's process group (its wrapper and the training under it)."""
    pgid = status.pgid or status.pid
    if not pgid or pgid <= 1:
        return
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pgid, signum)


class LocalBackend:
    name = "local"
    uses_local_slots = True

    def check_spec(self, spec: RunSpec) -> None:
        pass

    def start(self, run: rd.RunDir) -> None:
        from dltui.queue.detached import start_runner

        pid = start_runner(run.path, run.log_file)
        # Only while it starts: a forked wrapper may have written its own status already.
        run.change_status_if((rd.STARTING,), pid=pid, pid_start=process_start_ticks(pid))

    def reconcile(self, run: rd.RunDir, spec: RunSpec, status: RunStatus) -> RunStatus:
        """A run whose wrapper process is gone is never left running: lost, or killed
        when a stop was asked."""
        if status.state not in (rd.STARTING, rd.RUNNING):
            return status
        if (status.host or hostname()) != hostname():
            return status  # another machine's process table is not ours to read
        if is_alive(status.pid, status.pid_start):
            return status
        if status.state == rd.STARTING and time.time() - (status.updated or 0) < START_GRACE:
            return status  # the scheduler is between writing "starting" and the pid
        # The wrapper writes its final status before it exits: read again before judging.
        fresh = run.status()
        if fresh.state not in (rd.STARTING, rd.RUNNING) or is_alive(fresh.pid, fresh.pid_start):
            return fresh
        if run.stop_requested():
            return run.record_found_ending(fresh, rd.KILLED, error=None)
        return run.record_found_ending(
            fresh, rd.LOST, error="the run's process ended without reporting (killed, out of "
            "memory, or the machine restarted)")

    def settled(self, status: RunStatus) -> bool:
        return True

    def pending_elsewhere(self, status: RunStatus) -> bool:
        return False

    def stop(self, run: rd.RunDir, status: RunStatus) -> bool:
        signal_group(status, signal.SIGTERM)
        return True

    def requeue(self, run: rd.RunDir) -> str | None:
        return None

    def command(self, argv: list[str], spec: RunSpec, run_path: Path) -> list[str]:
        return argv

    def output_lines(self, sink: LineSink) -> LineSink:
        return sink

    def restart_notes(self, status: RunStatus) -> list[str]:
        return []

    def row_fields(self, status: RunStatus) -> dict[str, Any]:
        return {}

    def where(self, status: RunStatus) -> str | None:
        return None

    def state_note(self, status: RunStatus) -> str | None:
        return None


LOCAL = LocalBackend()
