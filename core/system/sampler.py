"""The runner's sampler thread: system figures into the run's metrics stream.

Every `interval` seconds it appends one record in the metrics.jsonl format,
`{"step": 12, "time": ..., "sys/cpu_percent": 97.5, "sys/rss_mb": 812.0, ...}`, at
the training step the stream has reached (so the figures line up with the loss),
and keeps each figure's peak for the status. `DLTUI_SYS_INTERVAL=0` turns it off.

The records are written by a small writer of its own (one `os.write` of a whole
line to a file opened for appending, so lines of the training process and of this
thread never mix); a shared metrics writer can take its place through `write`.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dltui.store.rundir import LOG_FILE
from dltui.system.figures import PREFIX
from dltui.tracking.stream import LineTail, is_number

INTERVAL_ENV = "DLTUI_SYS_INTERVAL"
DEFAULT_INTERVAL = 5.0

RecordsHook = Callable[[list[dict[str, Any]]], None]
_SYSTEM_KEY = b'"' + PREFIX.encode()
_NON_FINITE = (b"NaN", b"Infinity")  # how json.dumps writes them
READ_LIMIT = 1 << 17


def sample_interval() -> float:
    """Seconds between samples: DLTUI_SYS_INTERVAL, else the default; 0 means off."""
    try:
        return max(0.0, float(os.environ.get(INTERVAL_ENV, DEFAULT_INTERVAL)))
    except ValueError:
        return DEFAULT_INTERVAL


class MetricsAppender:
    """Appends whole records to a metrics.jsonl, one write a line."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)

    def write(self, record: dict[str, Any]) -> None:
        os.write(self._fd, (json.dumps(record) + "\n").encode())

    def close(self) -> None:
        os.close(self._fd)


class SystemSampler:
    """Samples a process tree (and the GPUs it was given) until `stop()`.

    `on_nonfinite` sees each record the training process appended with a NaN or an
    infinity in it, whether or not system figures are taken. The stream is followed
    without parsing it (only the last line, for the step, and lines that hold a
    non-finite value are parsed): the sampler shares the wrapper's interpreter with
    the loop that copies the run's output, and must not slow it.
    """

    def __init__(self, metrics_file: Path, root_pid: int, *, gpu_ids: list[int] | None,
                 interval: float = DEFAULT_INTERVAL, on_nonfinite: RecordsHook | None = None,
                 ) -> None:
        self.interval = interval
        self.peaks: dict[str, float] = {}
        self.samples = 0
        self.missing: str | None = None  # why there are no CPU figures, if there are none
        self._lines = LineTail(metrics_file)
        self._step: float | None = None
        self._on_nonfinite: RecordsHook | None = None
        self._follow_stream()  # an earlier attempt's step (requeued in place), unchecked
        self._on_nonfinite = on_nonfinite
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="dltui-sys", daemon=True)
        self._writer: MetricsAppender | None = None
        self._tree: Any = None
        self._gpus: Any = None
        if interval > 0:
            try:
                from dltui.system.process_tree import ProcessTreeUse

                self._tree = ProcessTreeUse(root_pid)
            except ImportError:
                self.missing = "psutil is not installed (pip install psutil)"
            from dltui.system.gpu import GpuUse

            self._gpus = GpuUse(gpu_ids)
            self._writer = MetricsAppender(metrics_file)

    def start(self) -> SystemSampler:
        self._thread.start()
        return self

    def _loop(self) -> None:
        # The first CPU figure needs a baseline: take one at once, write from the next.
        if self._tree is not None:
            self._tree.sample()
        wait = self.interval if self.interval > 0 else 2.0
        while not self._stop.wait(wait):
            self.sample_once()

    def sample_once(self) -> dict[str, Any] | None:
        """Read the stream's new records, take one sample and append it; the record
        written (None when there was nothing to sample)."""
        self._follow_stream()
        figures: dict[str, float] = {}
        if self._tree is not None:
            figures.update(self._tree.sample())
        if self._gpus is not None and self._gpus.handles:
            figures.update(self._gpus.sample(self._tree.pids() if self._tree else []))
        if not figures or self._writer is None:
            return None
        for key, value in figures.items():
            if value > self.peaks.get(key, float("-inf")):
                self.peaks[key] = value
        record: dict[str, Any] = {"time": round(time.time(), 3)}
        if self._step is not None:
            record["step"] = self._step
        record.update((PREFIX + key, value) for key, value in figures.items())
        self._writer.write(record)
        self.samples += 1
        return record

    def _follow_stream(self) -> None:
        # In pieces: a run that logs fast appends megabytes between two samples.
        while lines := self._lines.read_lines(READ_LIMIT):
            self._follow_lines(lines)

    def _follow_lines(self, lines: list[bytes]) -> None:
        for line in reversed(lines):
            if _SYSTEM_KEY in line:
                continue
            step = _parse(line).get("step")
            if is_number(step):
                self._step = step
                break
        if self._on_nonfinite is None:
            return
        flagged = [_parse(line) for line in lines if _SYSTEM_KEY not in line
                   and any(word in line for word in _NON_FINITE)]
        if flagged:
            try:
                self._on_nonfinite(flagged)
            except Exception:  # a check that fails must not end the sampling
                pass

    def stop(self) -> dict[str, float]:
        """End the thread; the peak of every figure (empty when none was taken)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._follow_stream()  # what the run logged last is checked too
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._gpus is not None:
            self._gpus.close()
        return dict(self.peaks)


def _parse(line: bytes) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except ValueError:
        return {}  # a line some other writer mangled
    return record if isinstance(record, dict) else {}


def start_sampler(metrics_file: Path, root_pid: int, *, gpu_ids: list[int] | None,
                  on_nonfinite: RecordsHook | None = None) -> SystemSampler:
    """The sampler thread for a run's process, started, at the configured interval.

    Figures that cannot be taken are one line in the run's output.log, never an error
    of the run."""
    try:
        sampler = SystemSampler(metrics_file, root_pid, gpu_ids=gpu_ids,
                                interval=sample_interval(), on_nonfinite=on_nonfinite)
    except OSError as err:  # the metrics file cannot be opened for appending
        sampler = SystemSampler(metrics_file, root_pid, gpu_ids=[], interval=0,
                                on_nonfinite=on_nonfinite)
        sampler.missing = f"cannot append to {metrics_file.name}: {err.strerror or err}"
    if sampler.missing:
        _say(metrics_file.parent / LOG_FILE, f"dltui: no system figures: {sampler.missing}")
    return sampler.start()


def _say(log_file: Path, line: str) -> None:
    try:  # appended in one write, as the wrapper appends the run's output
        with open(log_file, "a", encoding="utf-8") as log:
            log.write(line + "\n")
    except OSError:
        pass
