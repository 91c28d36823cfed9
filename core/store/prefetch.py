"""Reading a runs directory on another core while this process starts a user interface.

The dashboard's first look at 10,000 runs without an index reads some 20,000 files,
about half a second here, and importing the UI takes about as long, each in one
thread of one interpreter. A forked child reads the runs meanwhile; what it leaves
behind is the index of finished runs (`store/index.py`), so the dashboard's own
first read finds it made. Where the index cannot be written nothing is lost but
the child's work: the dashboard reads the runs itself, as it would have.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

LONGEST_WAIT = 5.0  # seconds
_children: dict[Path, int] = {}


def prefetch_runs(root: Path) -> None:
    """Start reading every run of `root` in a child process (no-op where there are none
    or this platform cannot fork)."""
    if root in _children or not root.is_dir() or not hasattr(os, "fork"):
        return
    pid = os.fork()
    if pid == 0:  # the child: read, leave the index behind, and go without a trace
        code = 0
        try:
            from dltui.store.runs import RunStore

            RunStore(root).runs(prefetched=False)
        except BaseException:  # noqa: BLE001 - the parent reads for itself then
            code = 1
        os._exit(code)
    _children[root] = pid


def wait_for_prefetch(root: Path, *, longest: float = LONGEST_WAIT) -> None:
    """Let a reading of `root` started by `prefetch_runs` finish first (at once if none;
    after `longest` seconds, a slow disk say, this process reads for itself)."""
    pid = _children.pop(root, None)
    if pid is None:
        return
    deadline = time.monotonic() + longest
    try:
        while os.waitpid(pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:
                return  # the child goes on; its index helps the next reader
            time.sleep(0.005)
    except ChildProcessError:
        pass  # reaped already
