"""The loops that read run directories in worker threads and hand snapshots over.

Plain Python with callbacks: `post` is called with each new snapshot (the app
passes a thread-safe `post_message`), `cancelled` says when to stop. Nothing
here touches a widget.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from dltui.queue.gpus import Gpu
from dltui.store import rundir as rd
from dltui.store.rundir import read_json
from dltui.store.runs import RunInfo, load_run
from dltui.tracking.stream import MetricHistory
from dltui.tui.catalog import RunCatalog, digest_history
from dltui.tui.text import clean
from dltui.tui.views import CatalogSnapshot, RunDigest, RunView
from dltui.tui.watch import FolderWatch

# How often each feed looks when the platform cannot say that a file changed. Where it
# can (inotify), a feed reads as soon as a run's files change and otherwise only every
# WATCHED_TIMEOUT, to notice a process that died without a word.
POLL_RUN = 0.1
POLL_STATUS = 0.5
POLL_ACTIVE = 0.25
WATCHED_TIMEOUT = 2.0
SCAN_EVERY = 10.0
POLL_GPUS = 3.0
# The most snapshots a feed posts a second: a run logging every batch is drawn at this
# rate, not at its own; a value after a quiet spell is posted at once. (The run screen
# redraws its charts and log less often still: `screens.run.HEAVY_EVERY`.)
FRAMES_RUN = 20.0
FRAMES_CATALOG = 8.0
# Seconds between two cuts of a followed run's curves down to what a chart draws: its
# values move at every read, its charts are redrawn about as often as this.
CURVES_EVERY = 1.0
# While no screen shown draws the catalog (a run's screen, Compare), it is kept current
# at this rate only: following one run must not pay for the lists behind it.
FRAMES_CATALOG_HIDDEN = 1.0

_LOG_START_BYTES = 256 * 1024
_LONGEST_LINE = 64 * 1024


class Throttle:
    """At most `rate` calls a second; the first after a quiet spell goes through at once."""

    def __init__(self, rate: float) -> None:
        self.gap = 1.0 / rate
        self.last = -1e9
        self._pause = threading.Event()

    def wait(self) -> None:
        left = self.last + self.gap - time.monotonic()
        if left > 0:
            self._pause.wait(left)
        self.last = time.monotonic()


def catalog_folders(catalog: RunCatalog) -> list[Path]:
    """What the catalog feed watches: the active index and each live run's folder."""
    root = catalog.store.root
    return [root, root / ".active", *(info.dir.path for info in catalog.live_runs())]


def follow_catalog(catalog: RunCatalog, post: Callable[[CatalogSnapshot], object],
                   cancelled: Callable[[], bool], wake: threading.Event, *,
                   poll_every: float = POLL_ACTIVE, scan_every: float = SCAN_EVERY,
                   watch: FolderWatch | None = None,
                   frames: Callable[[], float] = lambda: FRAMES_CATALOG) -> None:
    """Post a snapshot whenever something changed: the active runs when their files
    change (or every `poll_every` where that cannot be watched), every run directory
    every `scan_every` or when `wake` is set; at most `frames()` a second."""
    catalog.poll()  # the live runs first: they show before the slow first listing
    post(catalog.snapshot())
    catalog.scan()
    catalog.poll()
    post(catalog.snapshot())
    watch = watch or FolderWatch()
    throttle = Throttle(FRAMES_CATALOG)
    last_scan = time.monotonic()
    try:
        while not cancelled():
            watch.watch(catalog_folders(catalog))
            if watch.active:
                watch.wait(min(WATCHED_TIMEOUT, scan_every))
                woken = wake.is_set()
            else:
                woken = wake.wait(poll_every)
            if cancelled():
                return
            wake.clear()
            throttle.gap = 1.0 / frames()
            throttle.wait()  # before reading, so that what is posted is what came last
            changed = catalog.poll()
            if woken or time.monotonic() - last_scan >= scan_every:
                changed |= catalog.scan()
                last_scan = time.monotonic()
            if changed:
                post(catalog.snapshot())
    finally:
        watch.close()


class RunFollower:
    """One run read incrementally: new metrics lines, new log lines, status now and then."""

    def __init__(self, path: Path, *, tail: int = 500, clock: Callable[[], float] = time.time
                 ) -> None:
        self.path = path
        self.clock = clock
        self.history: MetricHistory | None = None
        self.tail: deque[str] = deque(maxlen=tail)
        self.seq = 0
        self.info: RunInfo | None = None
        self.summary: dict[str, object] = {}
        self._log_offset: int | None = None
        self._pending = b""
        self._status_at = 0.0
        self._stamp: tuple[int, int, int] | None = None
        self._look = False
        self._digest: RunDigest | None = None
        self._curves_at = -1e9

    def status_due(self) -> None:
        """Something in the folder changed: at the next `read`, look whether the status
        file did (one stat), and read it if so."""
        self._look = True

    def read(self) -> RunView | None:
        """The run as it is now, or None when nothing changed since the last call."""
        changed = False
        now = time.monotonic()
        stamp = self._stamp
        due = now - self._status_at >= POLL_STATUS
        if self.info is None or due or self._look:
            stamp = rd.RunDir(self.path).status_stamp()
        # An ended run is read again only when its status file changes (it was requeued
        # in place); a live one at every poll, to notice a process that died, and as
        # soon as its status file changes when that is watched.
        replaced = self._look and stamp != self._stamp
        self._look = False
        if self.info is None or replaced or (due and (
                not self.info.is_final or stamp != self._stamp)):
            self._status_at = now
            self._stamp = stamp
            fresh = load_run(self.path)
            if fresh is None:
                return None
            if self.info is None or fresh.status != self.info.status:
                self.info = fresh
                summary = read_json(fresh.dir.summary_file, {})
                self.summary = summary if isinstance(summary, dict) else {}
                changed = True
        info = self.info
        if self.history is None:
            self.history = MetricHistory(info.dir.metrics_file)
        measured = self.history.update()
        logged = self._read_log(info)
        curves = info.is_final or now - self._curves_at >= CURVES_EVERY
        if not (changed or measured or logged or (curves and self.curves_behind)):
            return None
        # A new log line alone keeps the digest: curves are cut down again only when
        # they (or the run's status, for the ETA) changed, at most every CURVES_EVERY.
        digest = self._digest
        if digest is None or changed or measured or (curves and self.curves_behind):
            if curves:
                self._curves_at = now
            digest = self._digest = digest_history(self.history, info, now=self.clock(),
                                                   previous=digest, curves=curves)
        return RunView(info, digest, tuple(self.tail), self.seq, dict(self.summary))

    @property
    def curves_behind(self) -> bool:
        """True when a curve lacks values already read (it is cut down again soon)."""
        digest = self._digest
        return digest is not None and any(m.drawn is not None for m in digest.metrics.values())

    def _read_log(self, info: RunInfo) -> bool:
        try:
            with open(info.dir.log_file, "rb") as src:
                if self._log_offset is None:
                    src.seek(0, 2)
                    size = src.tell()
                    self._log_offset = max(0, size - _LOG_START_BYTES)
                    skip_first = self._log_offset > 0
                else:
                    skip_first = False
                src.seek(self._log_offset)
                data = src.read()
        except FileNotFoundError:
            return False
        if not data:
            return False
        self._log_offset = (self._log_offset or 0) + len(data)
        data = self._pending + data
        *lines, self._pending = data.split(b"\n")
        if len(self._pending) > _LONGEST_LINE:
            lines.append(self._pending)
            self._pending = b""
        if skip_first and lines:
            lines = lines[1:]  # it was cut in the middle
        for raw in lines:
            self.tail.append(clean(raw.decode("utf-8", "replace")))
            self.seq += 1
        return bool(lines)


def follow_run(follower: RunFollower, post: Callable[[RunView], object],
               cancelled: Callable[[], bool], *, every: float = POLL_RUN,
               watch: FolderWatch | None = None) -> None:
    """Post the run whenever it changed: as soon as one of its files changes where that
    can be watched, else every `every`; slower once it has ended and all is read."""
    watch = watch or FolderWatch()
    watch.watch([follower.path])
    throttle = Throttle(FRAMES_RUN)
    try:
        while not cancelled():
            throttle.wait()  # before reading: a value that came while it waited goes too
            view = follower.read()
            if view is not None:
                post(view)
            done = follower.info is not None and follower.info.is_final and view is None
            if watch.active:
                if watch.wait(CURVES_EVERY if follower.curves_behind else WATCHED_TIMEOUT):
                    follower.status_due()  # a status file replaced is read at once
            else:
                watch.wait(1.0 if done else every)
    finally:
        watch.close()


def follow_gpus(query: Callable[[], list[Gpu]], post: Callable[[list[Gpu]], object],
                cancelled: Callable[[], bool], *, every: float = POLL_GPUS) -> None:
    """Post the GPU inventory when it changes; nvidia-smi is slow, so not too often."""
    pause = threading.Event()
    last: list[Gpu] | None = None
    while not cancelled():
        gpus = query()
        if gpus != last:
            post(gpus)
            last = gpus
        pause.wait(every)
