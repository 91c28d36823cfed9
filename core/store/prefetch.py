"""Reading a runs directory on another core while this process starts a user interface.

The dashboard's first look at 10,000 runs without an index reads some 30,000 files,
about half a second here, and importing the UI takes a good part of that, each in one
thread of one interpreter. A forked child reads the runs meanwhile, experiment by
experiment, and leaves each one's index of finished runs (`store/index.py`) behind; a
pipe tells this process which experiments are done, so its own reading of an
experiment (fast, from the index) follows the child's on the heels instead of waiting
for all of them. Where an index cannot be written nothing is lost but the child's
work: this process reads those runs itself, as it would have.
"""

from __future__ import annotations

import os
import select
import time
from dataclasses import dataclass, field
from pathlib import Path

LONGEST_WAIT = 5.0  # seconds a read waits for the child before it reads for itself


@dataclass
class _Prefetch:
    pid: int
    pipe: int  # the read end: a line an experiment the child is done with
    done: set[str] = field(default_factory=set)
    pending: bytes = b""


_children: dict[Path, _Prefetch] = {}


def prefetch_runs(root: Path) -> None:
    """Start reading every run of `root` in a child process (no-op where there are none,
    or where a forked child could not safely run Python: `procs.can_fork`)."""
    from dltui.procs import can_fork

    if root in _children or not root.is_dir() or not can_fork():
        return
    readable, writable = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: read, leave the indexes behind, and go without a trace
        os.close(readable)
        code = 0
        try:
            from dltui.store.runs import RunStore

            store = RunStore(root)
            for name in store.experiment_names():
                store.runs(name, prefetched=False)
                os.write(writable, name.encode("utf-8", "replace") + b"\n")
        except BaseException:  # noqa: BLE001 - the parent reads for itself then
            code = 1
        os._exit(code)
    os.close(writable)
    _children[root] = _Prefetch(pid, readable)


def wait_for_prefetch(root: Path, experiment: str | None = None, *,
                      longest: float = LONGEST_WAIT) -> None:
    """Let the child started by `prefetch_runs` finish `experiment` (every experiment when
    None) first; at once when there is no child, and after `longest` seconds (a slow
    disk, say) this process reads for itself."""
    job = _children.get(root)
    if job is None:
        return
    deadline = time.monotonic() + longest
    while experiment is None or experiment not in job.done:
        left = deadline - time.monotonic()
        if left <= 0:
            _forget(root, job, reap=False)  # the child goes on; its indexes help later
            return
        if not select.select([job.pipe], [], [], left)[0]:
            continue
        chunk = os.read(job.pipe, 1 << 16)
        if not chunk:  # the child is done (or gone): everything it could do is done
            _forget(root, job, reap=True)
            return
        *names, job.pending = (job.pending + chunk).split(b"\n")
        job.done.update(name.decode("utf-8", "replace") for name in names)


def _forget(root: Path, job: _Prefetch, *, reap: bool) -> None:
    _children.pop(root, None)
    os.close(job.pipe)
    if reap:
        try:
            os.waitpid(job.pid, 0)  # it closed the pipe on its way out
        except ChildProcessError:
            pass  # reaped already
