"""Facts about processes that any reader can check: alive, and the same process."""

from __future__ import annotations

import fcntl
import gc
import os
import signal
import socket
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def process_start_ticks(pid: int) -> int | None:
    """The kernel's start time of `pid` (clock ticks since boot), None if gone.

    Stored next to a pid so that a recycled pid is not taken for our process.
    """
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as src:
            stat = src.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name may hold spaces and parentheses: split after the last ')'.
    fields = stat[stat.rfind(")") + 2:].split()
    if fields and fields[0] == "Z":
        return None  # a zombie has finished; only its parent has not reaped it
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def is_alive(pid: int | None, start_ticks: int | None = None) -> bool:
    if not pid:
        return False
    ticks = process_start_ticks(pid)
    if ticks is None:
        if os.path.exists("/proc/self/stat"):
            return False
        try:  # no /proc (macOS): fall back to a signal-0 probe
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return start_ticks is None or ticks == start_ticks


def hostname() -> str:
    return socket.gethostname()


# Children this process started detached (the queue's runs, a supervisor): reaped so that
# none lingers as a zombie.
_children: list[subprocess.Popen[bytes]] = []
_forked: list[int] = []


def spawn_detached(argv: list[str], log_path: Path) -> int:
    """Start `argv` in a session of its own, output appended to `log_path`; its pid."""
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True, close_fds=True)
    _children.append(proc)
    reap_children()
    return proc.pid


def can_fork() -> bool:
    """Whether a forked child may go on running Python: Linux (macOS forbids much in a
    fork that is not followed by exec) and no other thread (one could hold a lock the
    child would wait on forever)."""
    return sys.platform.startswith("linux") and threading.active_count() == 1


def fork_detached(target: Callable[[], int], log_path: Path) -> int:
    """Run `target` in a forked child of this process, in a session of its own (so that
    neither a closed terminal nor this process's end stops it), with stdin from /dev/null,
    output appended to `log_path`, no other descriptor of the parent's (a lock's hold
    would go on with it) and SIGCHLD at its default; the child exits with what `target`
    returns, never returning to the caller's code. Its pid, in the parent.

    Call only when `can_fork()`."""
    _flush_stdio()  # else what this process buffered is written twice
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    pid = os.fork()
    if pid:
        os.close(log)
        _forked.append(pid)
        return pid
    code = 1
    try:
        # The parent's objects stay as they are: none is collected and closes a descriptor
        # number that the child has opened anew since.
        gc.freeze()
        os.setsid()
        signal.set_wakeup_fd(-1)  # the parent's wake-ups and child reaping are not ours
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        code = target()
    except SystemExit as end:
        code = 0 if end.code is None else end.code if isinstance(end.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:  # never back into the parent's code: its frames are still on this stack
        try:
            _flush_stdio()
        finally:
            os._exit(code)


def _flush_stdio() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):  # a closed pipe, a closed or no stream
            pass


def reap_children() -> None:
    for proc in list(_children):
        if proc.poll() is not None:
            _children.remove(proc)
    for pid in list(_forked):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            _forked.remove(pid)


@contextmanager
def process_lock(path: Path) -> Iterator[bool]:
    """Hold `path` as the lock of a process that must run once (the queue's supervisor, a
    study's driver), with this pid in it; yields False when another process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def lock_holder(path: Path) -> int | None:
    """The pid of the live process holding the `process_lock` at `path`, None if none
    (-1 when one holds it without saying its pid yet)."""
    try:
        with open(path) as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                text = handle.read().strip()
                return int(text) if text.isdigit() else -1
            fcntl.flock(handle, fcntl.LOCK_UN)
            return None
    except FileNotFoundError:
        return None
