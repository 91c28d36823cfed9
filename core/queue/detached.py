"""Starting the queue's detached processes: a runs directory's supervisor, a run's wrapper.

Each is a fresh interpreter (`python -m dltui.queue.supervisor RUNS_DIR`, `python -m
dltui.queue.runner RUN_DIR`), or a fork of this process where it allows that and has
no other thread: it holds their code already, so a run starts for the cost of a fork,
not of an interpreter's start and imports. Either way the process runs in a session of
its own, outlives its parent, and is found again by the pid (and start time) in the
run directory.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

# `allow_fork` is called by every dltui command, `--help` included: this module imports
# what starting a process needs only when one is started.
_fork_allowed = False
_runners_forked = 0


def allow_fork() -> None:
    """Let this process fork the queue's processes: a `dltui` command or the supervisor,
    whose memory and open files are dltui's own. A program that only imports dltui (a
    test runner, a notebook) starts fresh interpreters."""
    global _fork_allowed
    _fork_allowed = True


def _forks() -> bool:
    from dltui.procs import can_fork

    return _fork_allowed and can_fork()


def start_supervisor(runs_dir: Path, log_path: Path) -> int:
    """Start the supervisor of `runs_dir`, output appended to `log_path`; its pid."""
    def serve() -> int:
        from dltui.queue.supervisor import serve

        return serve(runs_dir)

    return _start("dltui.queue.supervisor", runs_dir, log_path, serve)


def start_runner(run_path: Path, log_path: Path) -> int:
    """Start the wrapper of the run at `run_path`, output appended to `log_path`; its pid."""
    def wrap() -> int:
        from dltui.queue.runner import wrap

        return wrap(run_path)

    global _runners_forked
    if _forks():
        if _runners_forked:  # the first run starts at once; the later ones find all loaded
            _preload_runner()
        _runners_forked += 1
    return _start("dltui.queue.runner", run_path, log_path, wrap)


def _start(module: str, path: Path, log_path: Path, in_fork: Callable[[], int]) -> int:
    """`python -m module path`, or `in_fork` in a fork of this process where it may."""
    from dltui.procs import fork_detached, spawn_detached

    if _forks():
        return fork_detached(in_fork, log_path)
    return spawn_detached([sys.executable, "-m", module, str(path)], log_path)


def _preload_runner() -> None:
    """Import the run wrapper's code and describe this interpreter here, so that every run
    forked from now on has both (a description stays good until a package changes)."""
    import dltui.queue.runner  # noqa: F401
    from dltui.snapshots.environment import describe_interpreter

    describe_interpreter(None)
