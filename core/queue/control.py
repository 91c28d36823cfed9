"""Stopping runs: cancel queued ones, ask each started one's backend to stop it (SIGTERM to
a local run's process group), then SIGKILL what is still running after a grace period."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterable

from dltui.backends import get_backend
from dltui.backends.local import signal_group
from dltui.procs import is_alive
from dltui.store import rundir as rd
from dltui.store.runs import RunInfo, load_run, reconcile


def stop_runs(runs: Iterable[RunInfo], *, grace: float = 10.0) -> list[RunInfo]:
    """Stop every run given; returns them as they ended. Finished runs are left alone.

    A stop wins over a start in progress: the stop file is there before anything is
    signalled, and the run wrapper checks it before and after it starts the command."""
    runs = list(runs)
    targets: list[RunInfo] = []
    for info in runs:
        if info.is_final or info.state == rd.DAMAGED:
            continue
        info.dir.stop_file.touch()
        if info.dir.end_if((rd.QUEUED,), rd.KILLED,
                           error="cancelled before it started") is not None:
            continue
        if get_backend(info.spec.backend).stop(info.dir, info.dir.status()):
            targets.append(info)
    deadline = time.monotonic() + grace
    while targets and time.monotonic() < deadline:
        targets = [t for t in targets if _still_running(t)]
        if targets:
            time.sleep(0.05)
    for info in targets:
        signal_group(info.dir.status(), signal.SIGKILL)
    end = time.monotonic() + 5
    while targets and time.monotonic() < end:
        targets = [t for t in targets if _still_running(t)]
        if targets:
            time.sleep(0.05)
    return [info for info in (load_run(i.dir.path) for i in runs) if info]


def _still_running(info: RunInfo) -> bool:
    status = reconcile(info.dir, info.spec, info.dir.status())
    if status.state in rd.FINAL_STATES:
        return False
    if status.state == rd.STARTING and not status.pid:
        return True  # the queue has not started its wrapper yet; it will see the stop file
    return is_alive(status.pid, status.pid_start)
