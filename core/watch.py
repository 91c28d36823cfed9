"""Waiting for a file to change: inotify where the platform has it, a timed wait where not.

A reader calls `wait(timeout)` between two looks: it returns as soon as something in a
watched folder changed (a metrics line appended, a status file replaced, an index
entry added), else after `timeout`. Blocking in `select` costs no CPU while nothing
happens, so an idle dashboard or queue sleeps instead of polling. Plain Python
(ctypes), no dependency; anything that fails here falls back to the timed wait.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import select
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

_IN_NONBLOCK = os.O_NONBLOCK
_IN_CLOEXEC = 0o2000000
# Appended, created, deleted, renamed in or out, attributes (a touch), closed after writing.
_MASK = 0x002 | 0x100 | 0x200 | 0x080 | 0x040 | 0x004 | 0x008


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.inotify_init1  # noqa: B018 (present on every Linux since 2.6.27)
        return libc
    except (OSError, AttributeError):
        return None


class FolderWatch:
    """Folders watched for changes (not their subfolders); `watch` sets which."""

    def __init__(self, *, use_inotify: bool = True) -> None:
        self._libc = _libc() if use_inotify else None
        self._fd = -1
        self._folders: dict[str, int] = {}
        self._pause = threading.Event()
        if self._libc is not None:
            self._fd = self._libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
            if self._fd < 0:
                self._libc = None

    @property
    def active(self) -> bool:
        """True when changes wake `wait` (else it only times out)."""
        return self._fd >= 0

    def watch(self, folders: Iterable[Path]) -> None:
        """Watch exactly these folders from now on (missing ones are skipped)."""
        if self._libc is None:
            return
        wanted = {str(f) for f in folders}
        for gone in set(self._folders) - wanted:
            self._libc.inotify_rm_watch(self._fd, self._folders.pop(gone))
        for folder in wanted - set(self._folders):
            handle = self._libc.inotify_add_watch(self._fd, os.fsencode(folder), _MASK)
            if handle >= 0:
                self._folders[folder] = handle

    def wait(self, timeout: float, *, also: Sequence[int] = ()) -> bool:
        """Block until a watched folder changed or one of the non-blocking descriptors
        `also` became readable (True), or `timeout` seconds passed. Whatever is waiting on
        a descriptor is read away: one wake for a burst of changes."""
        fds = [*([self._fd] if self._fd >= 0 else []), *also]
        if not fds:
            self._pause.wait(timeout)
            return False
        try:
            ready, _, _ = select.select(fds, [], [], timeout)
        except (OSError, ValueError):
            self._pause.wait(timeout)
            return False
        for fd in ready:
            try:
                while os.read(fd, 65536):
                    pass
            except OSError:  # drained (BlockingIOError), or closed under us
                pass
        return bool(ready)

    def wait_apart(self, timeout: float, *, looked: float, gap: float) -> bool:
        """`wait`, then no return before `gap` s after `looked` (a `time.monotonic()`):
        a reader that looks at each wake looks at most once every `gap` s, however many
        changes a busy writer makes."""
        changed = self.wait(timeout)
        time.sleep(max(0.0, looked + gap - time.monotonic()))
        return changed

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
            self._folders.clear()
