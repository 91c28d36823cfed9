"""`python -m dltui.queue.supervisor RUNS_DIR`: the detached process that runs the queue.

It starts runs as soon as they can start: it sleeps until the index of active runs
changes (a run queued, a run ended) or a run's wrapper exits, and looks again at a slow
safety interval whatever happens; where folders cannot be watched, it looks every
`poll` seconds instead.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from dltui.procs import reap_children
from dltui.queue.detached import allow_fork
from dltui.queue.scheduler import Scheduler, has_queued, supervisor_lock
from dltui.store.active import ACTIVE_DIR
from dltui.watch import FolderWatch


class QueueWakeups:
    """What wakes the supervisor: the active-runs index changing (inotify) and SIGCHLD of
    the wrappers it forked (through a signal wake-up descriptor)."""

    def __init__(self, runs_dir: Path, *, watch_folders: bool = True,
                 on_child_exit: bool = True) -> None:
        self._folders = FolderWatch(use_inotify=watch_folders)
        index = runs_dir / ACTIVE_DIR
        if self._folders.active:
            try:
                index.mkdir(parents=True, exist_ok=True)
            except OSError:
                pass  # a folder nothing can be queued in: the polls look anyway
            self._folders.watch([index])
        self._pipe: tuple[int, int] | None = None
        self._restore: tuple[Any, int] | None = None
        if on_child_exit:
            self._wake_on_child_exit()

    @property
    def watching(self) -> bool:
        """True when a queued or ended run wakes the supervisor (else only polls do)."""
        return self._folders.active

    def _wake_on_child_exit(self) -> None:
        read, write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        try:  # a handler of Python's own, so that the signal is written to the pipe
            previous = signal.signal(signal.SIGCHLD, lambda _signum, _frame: None)
            self._restore = (previous, signal.set_wakeup_fd(write, warn_on_full_buffer=False))
        except ValueError:  # not the main thread: folders and polls only
            os.close(read)
            os.close(write)
            return
        self._pipe = (read, write)

    def wait(self, timeout: float) -> None:
        self._folders.wait(timeout, also=[self._pipe[0]] if self._pipe else [])

    def __enter__(self) -> QueueWakeups:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._folders.close()
        if self._restore is not None:
            signal.set_wakeup_fd(self._restore[1])
            signal.signal(signal.SIGCHLD, self._restore[0])
        if self._pipe is not None:
            for fd in self._pipe:
                os.close(fd)


def supervise(runs_dir: Path, *, poll: float = 0.2, safety_poll: float = 2.0,
              linger: float = 2.0, watch_folders: bool = True,
              on_child_exit: bool = True) -> None:
    """Run the queue until nothing has been queued for `linger` seconds, looking again
    when a run is queued or ends and every `safety_poll` seconds (every `poll` seconds
    where folders are not watched)."""
    allow_fork()  # this process is dltui's own: its runs are forked from it
    scheduler = Scheduler(runs_dir)
    with QueueWakeups(runs_dir, watch_folders=watch_folders,
                      on_child_exit=on_child_exit) as wakeups:
        interval = safety_poll if wakeups.watching else poll
        while True:
            with supervisor_lock(runs_dir) as held:
                if not held:
                    return
                idle_since: float | None = None
                while True:
                    waiting = scheduler.tick()
                    reap_children()
                    now = time.monotonic()
                    if waiting:
                        idle_since = None
                    elif idle_since is None:
                        idle_since = now
                    elif now - idle_since >= linger:
                        break
                    left = interval if idle_since is None else linger - (now - idle_since)
                    wakeups.wait(max(0.0, min(interval, left)))
            # Between the last look and the release, a run may have been queued: look again.
            if not has_queued(scheduler.store):
                return


def serve(runs_dir: Path) -> int:
    """The supervisor process's life: the queue of `runs_dir` until it is idle."""
    # A closed terminal must not stop the queue.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    supervise(runs_dir)
    return 0


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m dltui.queue.supervisor RUNS_DIR")
    sys.exit(serve(Path(sys.argv[1]).resolve()))


if __name__ == "__main__":
    main()
