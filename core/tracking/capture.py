"""A run's output: written to output.log at disk speed, read for metrics off the hot path.

The child writes straight into output.log (its stdout and stderr are the file):
nothing stands between a training loop and the disk, so printing never waits
for dltui. A thread reads the file as it grows, a megabyte at a time, and feeds
its lines to the metrics parser. Parsing costs a bounded time per line (a line
longer than `LONGEST_PARSED_LINE` is left in the log, unread), and when the
reader falls more than `MOST_BEHIND` bytes behind the writer it skips ahead:
lines go unparsed, never uncopied. The thread runs at the lowest CPU priority, so
on a busy machine the parsing waits, not the training.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from dltui.store import rundir as rd
from dltui.tracking.stdout_metrics import parse_line
from dltui.tracking.stdout_steps import StdoutSteps
from dltui.tracking.writer import MetricsWriter

LONGEST_PARSED_LINE = 4096  # bytes; a metrics line is far shorter
MOST_BEHIND = 64 << 20  # bytes the reader may lag before it skips ahead
READ_SIZE = 1 << 20
POLL_SECONDS = 0.05  # how often an idle reader looks for more output


class StdoutMetrics:
    """Metrics of a script's printed lines, written to its run's metrics stream until
    the script reports through the tracking API or a framework integration."""

    def __init__(self, run: rd.RunDir) -> None:
        self.run = run
        self.writer = MetricsWriter(run)  # before the child can append to the metrics
        self.steps = StdoutSteps(self._write)
        self._tracked = False
        self.count = 0

    @property
    def step(self) -> int | None:
        return self.steps.step

    def feed(self, line: str) -> None:
        """One line of output; a trailing `\\r` marks a redraw (a progress bar's frame)."""
        redraw = line.endswith("\r")
        parsed = parse_line(line[:-1] if redraw else line)
        if parsed.values or parsed.step is not None or parsed.position is not None:
            self.steps.feed(parsed, redraw=redraw)

    def _write(self, step: int, values: dict[str, float], total: int | None) -> None:
        # Once the script reports another way, its prints are only prints (and the
        # marker never goes away: one stat per record until then, none after).
        self._tracked = self._tracked or (self.run.path / rd.TRACKED_FILE).exists()
        if self._tracked:
            return
        self.count += 1
        self.writer.log(step, values, total=total)

    def close(self) -> None:
        self.steps.flush()
        self.writer.close()


class OutputCapture:
    """output.log for the child to write into, and the thread that reads it for metrics."""

    def __init__(self, log_file: Path) -> None:
        self.path = log_file
        self.file: BinaryIO = open(log_file, "ab", buffering=0)  # noqa: SIM115
        self.had_output = self.file.tell() > 0
        # Where the child's output begins: taken before the child shares this file (and
        # its offset) and writes.
        self._offset = self.file.tell()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self.skipped_bytes = 0
        self.lines = 0
        self.error: OSError | None = None  # why reading stopped early, if it did

    def write(self, text: str) -> None:
        """A line of dltui's own in the log (where an attempt begins, why it failed)."""
        self.file.write(text.encode())
        self._offset = self.file.tell()

    def start(self, feed: Callable[[str], Any]) -> None:
        """Read what the child writes, feeding each line to `feed` (call it once the child
        is started: its output since then is read too)."""
        self._thread = threading.Thread(target=self._read, args=(self._offset, feed),
                                        name="dltui-output", daemon=True)
        self._thread.start()

    def finish(self) -> None:
        """After the child ended: parse what is left, then close the log."""
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        self.file.close()

    def _read(self, offset: int, feed: Callable[[str], Any]) -> None:
        try:  # Linux schedules threads apart: the training process goes first
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        except (AttributeError, OSError):
            pass
        try:
            self._read_lines(offset, feed)
        except OSError as err:  # a full disk: the metrics stop, the run goes on and says so
            self.error = err

    def _read_lines(self, offset: int, feed: Callable[[str], Any]) -> None:
        with open(self.path, "rb") as src:
            src.seek(offset)
            carry = b""
            ended = False
            while True:
                chunk = src.read(READ_SIZE)
                if not chunk:
                    if ended:
                        break
                    # Once the child has ended, read once more: what it wrote between the
                    # read that found nothing and the end would be lost otherwise.
                    ended = self._done.is_set() or self._done.wait(POLL_SECONDS)
                    continue
                behind = os.fstat(src.fileno()).st_size - src.tell()
                if behind > MOST_BEHIND:
                    src.seek(behind - READ_SIZE, os.SEEK_CUR)
                    self.skipped_bytes += behind - READ_SIZE + len(chunk)
                    carry, chunk = b"", src.read(READ_SIZE)
                    chunk = chunk[chunk.find(b"\n") + 1:]  # from the next whole line
                carry = self._lines(carry + chunk, feed)
            if carry:
                self._segment(carry, feed, b"\n")

    def _lines(self, data: bytes, feed: Callable[[str], Any]) -> bytes:
        """Feed the complete lines of `data`; returns the unfinished rest."""
        lines = data.split(b"\n")
        rest = lines.pop()
        for line in lines:
            self._segment(line, feed, b"\n")
        if len(rest) > LONGEST_PARSED_LINE * 4:
            return b""  # a line that long is not a metrics line: keep no more of it
        return rest

    def _segment(self, line: bytes, feed: Callable[[str], Any], end: bytes) -> None:
        self.lines += 1
        if len(line) > LONGEST_PARSED_LINE:
            if b"\r" not in line:
                return
            line = line[line.rfind(b"\r", 0, len(line) - 1) + 1:]  # a bar's last frames
            if len(line) > LONGEST_PARSED_LINE:
                return
        if b"\r" in line:
            *frames, last = line.split(b"\r")
            for frame in frames:
                if frame:
                    feed(frame.decode("utf-8", "replace") + "\r")
            line = last
        if line:
            feed(line.decode("utf-8", "replace"))
