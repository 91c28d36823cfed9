"""Stopping runs: cancel queued ones, SIGTERM the process group of running ones, then
SIGKILL after a grace period."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterable

from dltui.procs import is_alive
from dltui.store import rundir as rd
from dltui.store.active import unmark_active
from dltui.store.runs import RunInfo, load_run, reconcile


def _signal_group(status: dict[str, object], signum: int) -> None:
    pgid = status.get("pgid") or status.get("pid")
    if not isinstance(pgid, int) or pgid <= 1:
        return
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pgid, signum)


def stop_runs(runs: Iterable[RunInfo], *, grace: float = 10.0) -> list[RunInfo]:
    """Stop every run given; returns them as they ended. Finished runs are left alone."""
    runs = list(runs)
    targets: list[RunInfo] = []
    for info in runs:
        if info.is_final:
            continue
        info.dir.stop_file.touch()
        if info.dir.change_status_if((rd.QUEUED,), state=rd.KILLED, ended_at=time.time(),
                                     error="cancelled before it started") is not None:
            unmark_active(info.dir.path.parent.parent, info.run_id)
            continue
        status = info.dir.status()
        if status.get("backend", "local") == "slurm":
            from dltui.backends.slurm import cancel_run

            cancel_run(info.dir)
            continue
        _signal_group(status, signal.SIGTERM)
        targets.append(info)
    deadline = time.monotonic() + grace
    while targets and time.monotonic() < deadline:
        targets = [t for t in targets if _still_running(t)]
        if targets:
            time.sleep(0.05)
    for info in targets:
        _signal_group(info.dir.status(), signal.SIGKILL)
    end = time.monotonic() + 5
    while targets and time.monotonic() < end:
        targets = [t for t in targets if _still_running(t)]
        if targets:
            time.sleep(0.05)
    return [info for info in (load_run(i.dir.path) for i in runs) if info]


def _still_running(info: RunInfo) -> bool:
    status = reconcile(info.dir, info.dir.status())
    if status.get("state") in rd.FINAL_STATES:
        return False
    return is_alive(status.get("pid"), status.get("pid_start"))
