"""Facts about processes that any reader can check: alive, and the same process."""

from __future__ import annotations

import os
import socket


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
