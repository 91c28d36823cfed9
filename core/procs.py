"""Facts about processes that any reader can check: alive, and the same process."""

from __future__ import annotations

import fcntl
import os
import socket
import subprocess
from collections.abc import Iterator
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


def spawn_detached(argv: list[str], log_path: Path) -> int:
    """Start `argv` in a session of its own, output appended to `log_path`; its pid."""
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True, close_fds=True)
    _children.append(proc)
    reap_children()
    return proc.pid


def reap_children() -> None:
    for proc in list(_children):
        if proc.poll() is not None:
            _children.remove(proc)


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
