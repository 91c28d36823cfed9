"""Reading the append-only metrics stream, resuming where the last read stopped.

A line is complete only when it ends in a newline: a torn last line is a record
that is not written yet, never an error (as TensorBoard's event file loader
treats a torn last record).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Keys that describe a record rather than measure something.
RECORD_KEYS = frozenset({"step", "time"})
# How many steps the run will take, for progress and the ETA (keys starting with `_`
# are never metrics).
TOTAL_KEY = "_total"


@dataclass
class LineTail:
    """The complete lines appended to a file since the last call, resuming by offset."""

    path: Path
    offset: int = 0

    def read_lines(self, limit: int | None = None) -> list[bytes]:
        """Lines appended since the last call (at most about `limit` bytes of them, so
        that a long stream is read in bounded pieces); a torn last line waits."""
        try:
            with open(self.path, "rb") as src:
                src.seek(self.offset)
                chunk = src.read() if limit is None else src.read(limit)
        except OSError:
            return []
        end = chunk.rfind(b"\n")
        if end < 0:
            if limit is not None and len(chunk) == limit:  # one line longer than `limit`
                return self.read_lines(limit * 4)
            return []
        self.offset += end + 1
        return chunk[:end].split(b"\n")


class MetricTail(LineTail):
    """Incremental reader of one metrics.jsonl: call `read_new()` as often as you like."""

    def read_new(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Records appended since the last call; a partial last line is left for next time."""
        return list(self.records(limit))

    def records(self, limit: int | None = None) -> Iterator[dict[str, Any]]:
        """`read_new` one record at a time: only the raw lines are held at once."""
        return _parse_lines(self.read_lines(limit))

    def every_record(self, piece: int = 1 << 17) -> Iterator[dict[str, Any]]:
        """Every record appended since the last call, read `piece` bytes at a time: a
        long run's stream is never held at once."""
        while True:
            before = self.offset
            yield from self.records(piece)
            if self.offset == before:
                return


def _parse_lines(lines: list[bytes]) -> Iterator[dict[str, Any]]:
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line some other writer mangled; skip it, keep the rest
        if isinstance(record, dict):
            yield record


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_finite(value: Any) -> bool:
    return is_number(value) and math.isfinite(value)


@dataclass
class MetricSeries:
    """Every value of one metric in the order logged, with its step and wall time."""

    name: str
    steps: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)  # NaN where a record had none

    @property
    def last(self) -> float | None:
        return self.values[-1] if self.values else None

    def best(self, mode: str) -> float | None:
        return best_of(self.values, mode)


def best_of(values: Iterable[float], mode: str) -> float | None:
    """The highest finite value (mode "max") or the lowest; None when none is finite."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return None
    return max(finite) if mode == "max" else min(finite)


class StreamPosition:
    """Where a run's stream has got to: its step, its total steps and its wall times."""

    def __init__(self) -> None:
        self.last_step: float | None = None
        self.total: float | None = None
        self.last_time: float | None = None
        self.first_time: float | None = None

    def _advance(self, record: dict[str, Any]) -> Any:
        """Note one record's step, total and time; its step as written."""
        step = record.get("step")
        when = record.get("time")
        if is_number(when):
            self.last_time = when
            if self.first_time is None:
                self.first_time = when
        progress = TOTAL_KEY in record and is_number(record[TOTAL_KEY])
        if progress:
            self.total = record[TOTAL_KEY]
        # Once a run reports progress, only progress moves the step reached: a loss logged
        # every N batches at a global batch step is not the epoch.
        if is_finite(step) and (progress or self.total is None):
            self.last_step = step
        return step


def metric_values(record: dict[str, Any]) -> Iterator[tuple[str, float]]:
    """The metrics of one record: numbers under names that do not describe the record."""
    for key, value in record.items():
        if key in RECORD_KEYS or key.startswith("_") or not is_number(value):
            continue
        yield key, value


def as_floats(values: Iterable[tuple[str, Any]]) -> dict[str, float]:
    """The values as floats; an integer beyond a float's range as an infinity of its sign
    (JSON numbers have no limit; a float has)."""
    found = {}
    for key, value in values:
        try:
            found[key] = float(value)
        except OverflowError:
            found[key] = math.inf if value > 0 else -math.inf
    return found


class MetricHistory(StreamPosition):
    """All metrics of one run, fed incrementally from a MetricTail."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.tail = MetricTail(path)
        self.series: dict[str, MetricSeries] = {}

    def update(self) -> bool:
        """Read what was appended; True if anything new arrived."""
        records = self.tail.read_new()
        for record in records:
            self._add(record)
        return bool(records)

    def _add(self, record: dict[str, Any]) -> None:
        step = self._advance(record)
        when = record.get("time")
        for key, value in metric_values(record):
            series = self.series.get(key)
            if series is None:
                series = self.series[key] = MetricSeries(key)
            series.steps.append(float(step) if is_number(step)
                                else float(len(series.values)))
            series.values.append(float(value))
            series.times.append(float(when) if is_number(when)  # type: ignore[arg-type]
                                else math.nan)


@dataclass
class MetricFigures:
    """What a run's summary keeps of one metric: its last value, count and finite range."""

    last: float
    count: int = 0
    low: float = math.inf
    high: float = -math.inf

    def best(self, mode: str) -> float | None:
        if self.low > self.high:
            return None  # no finite value
        return self.high if mode == "max" else self.low


class RunningSummary(StreamPosition):
    """A run's summary folded record by record, in constant memory whatever its length."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: dict[str, MetricFigures] = {}

    def add(self, record: dict[str, Any]) -> None:
        self._advance(record)
        for key, number in as_floats(metric_values(record)).items():
            figures = self.figures.get(key)
            if figures is None:
                figures = self.figures[key] = MetricFigures(number)
            figures.last = number
            figures.count += 1
            if math.isfinite(number):
                figures.low = min(figures.low, number)
                figures.high = max(figures.high, number)

    def metrics(self, *, mode_of: dict[str, str] | None = None,
                default_mode: str = "min") -> dict[str, dict[str, float | int | None]]:
        """{metric: {"last", "best", "count"}}, best by each metric's mode (declared in
        `mode_of`, else guessed from its name)."""
        modes = mode_of or {}
        return {name: {"last": figures.last,
                       "best": figures.best(modes.get(name, guess_mode(name, default_mode))),
                       "count": figures.count}
                for name, figures in self.figures.items()}


def summary_of_stream(path: Path, *, piece: int = 1 << 17) -> RunningSummary:
    """A whole metrics stream folded into its summary, read `piece` bytes at a time (the
    run wrapper's follower folds it as it grows, with the same rule)."""
    summary = RunningSummary()
    for record in MetricTail(path).every_record(piece):
        summary.add(record)
    return summary


_MAX_HINTS = ("acc", "bleu", "iou", "miou", "r1", "r5", "r10", "f1", "auc", "precision",
              "recall", "score", "map")
_MIN_HINTS = ("loss", "err", "perplexity", "ppl", "rank", "time")


def guess_mode(metric: str, default: str = "min") -> str:
    """Whether larger is better for a metric nobody declared: accuracy-like names yes."""
    lowered = metric.lower()
    if any(hint in lowered for hint in _MIN_HINTS):
        return "min"
    if any(hint in lowered for hint in _MAX_HINTS):
        return "max"
    return default


def downsample(values: list[float], points: int) -> list[float]:
    """About `points` finite values that keep the curve's shape (bucket means).

    Non-finite values are dropped: a sparkline cannot draw them.
    """
    finite = [v for v in values if math.isfinite(v)]
    if points <= 0 or len(finite) <= points:
        return finite
    size = len(finite) / points
    out = []
    for bucket in range(points):
        lo, hi = int(bucket * size), max(int((bucket + 1) * size), int(bucket * size) + 1)
        part = finite[lo:hi]
        out.append(sum(part) / len(part))
    return out
