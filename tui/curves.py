"""A run's metrics as the charts need them: step, value and wall time of every point,
read incrementally from the metrics stream, and cut down to what a screen can draw."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dltui.tracking.stream import RECORD_KEYS, MetricTail, is_number

# Points kept per curve: enough for a chart 200 cells wide (400 braille dots).
CURVE_POINTS = 400


@dataclass
class Curve:
    """Every value of one metric in the order logged, with its step and wall time."""

    name: str
    steps: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)

    @property
    def last(self) -> float | None:
        return self.values[-1] if self.values else None

    def best(self, mode: str) -> float | None:
        finite = [v for v in self.values if math.isfinite(v)]
        if not finite:
            return None
        return max(finite) if mode == "max" else min(finite)


class CurveHistory:
    """All metrics of one run, fed from a MetricTail; progress comes from the records
    that carry `_total` (a run's `progress()`), once there are any, so a loss logged
    every N batches at a global batch step does not read as the epoch reached."""

    def __init__(self, path: Path) -> None:
        self.tail = MetricTail(path)
        self.series: dict[str, Curve] = {}
        self.last_step: float | None = None
        self.total: float | None = None
        self.last_time: float | None = None
        self.first_time: float | None = None
        self._progress_seen = False

    def update(self) -> bool:
        """Read what was appended; True if anything new arrived."""
        records = self.tail.read_new()
        for record in records:
            self._add(record)
        return bool(records)

    def _add(self, record: dict[str, Any]) -> None:
        step = record.get("step")
        when = record.get("time")
        if is_number(when):
            self.last_time = when
            if self.first_time is None:
                self.first_time = when
        is_progress = "_total" in record and is_number(record["_total"])
        if is_progress:
            self.total = record["_total"]
            self._progress_seen = True
        if is_number(step) and (is_progress or not self._progress_seen):
            self.last_step = step
        for key, value in record.items():
            if key in RECORD_KEYS or key.startswith("_") or not is_number(value):
                continue
            curve = self.series.get(key)
            if curve is None:
                curve = self.series[key] = Curve(key)
            curve.steps.append(float(step) if is_number(step)  # type: ignore[arg-type]
                               else float(len(curve.values)))
            curve.values.append(float(value))
            curve.times.append(float(when) if is_number(when)  # type: ignore[arg-type]
                               else math.nan)


def thin(curve: Curve, points: int = CURVE_POINTS
         ) -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
    """(steps, values, times) of about `points` points that keep the curve's shape:
    bucket means of the finite values, each at its bucket's last step and time."""
    keep = [i for i, v in enumerate(curve.values) if math.isfinite(v)]
    if len(keep) <= points:
        return (tuple(curve.steps[i] for i in keep), tuple(curve.values[i] for i in keep),
                tuple(curve.times[i] for i in keep))
    size = len(keep) / points
    steps, values, times = [], [], []
    for bucket in range(points):
        lo, hi = int(bucket * size), max(int((bucket + 1) * size), int(bucket * size) + 1)
        part = keep[lo:hi]
        values.append(sum(curve.values[i] for i in part) / len(part))
        steps.append(curve.steps[part[-1]])
        times.append(curve.times[part[-1]])
    return tuple(steps), tuple(values), tuple(times)
