"""A run as the exporters see it: params, every metric value with its step and time,
summary, tags, note and state, read from its directory."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from dltui.store import rundir as rd
from dltui.store.runs import RunInfo
from dltui.tracking.stream import MetricTail, is_number, metric_values

ANNOTATIONS_FILE = "annotations.json"  # a run's tags and note as changed after its launch


@dataclass
class Point:
    step: int
    value: float
    time: float


@dataclass
class ExportedRun:
    info: RunInfo
    params: dict[str, Any]
    metrics: dict[str, list[Point]] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def name(self) -> str:
        return self.info.run_id

    @property
    def started(self) -> float:
        return float(self.info.started or self.info.spec.created)

    @property
    def ended(self) -> float | None:
        return self.info.status.ended_at

    def steps(self) -> list[tuple[int, float, dict[str, float]]]:
        """(step, time, values) in step order, every metric logged at a step together."""
        by_step: dict[int, tuple[float, dict[str, float]]] = {}
        for name, points in self.metrics.items():
            for point in points:
                when, values = by_step.setdefault(point.step, (point.time, {}))
                values[name] = point.value
                by_step[point.step] = (min(when, point.time), values)
        return [(step, when, values) for step, (when, values) in sorted(by_step.items())]


def read_exported(info: RunInfo) -> ExportedRun:
    """Everything an exporter carries over from one run."""
    run = ExportedRun(info, dict(info.spec.params), summary=info.summary())
    start = run.started
    for record in MetricTail(info.dir.metrics_file).read_new():
        step: Any = record.get("step")
        when: Any = record.get("time")
        for key, value in metric_values(record):
            points = run.metrics.setdefault(key, [])
            at = int(round(step)) if is_number(step) else len(points)
            points.append(Point(at, float(value), float(when) if is_number(when) else start))
    tags, note = list(info.spec.tags), ""
    annotations = rd.read_json(info.dir.path / ANNOTATIONS_FILE, {})
    if isinstance(annotations, dict):
        if isinstance(annotations.get("tags"), list):
            tags = [str(t) for t in annotations["tags"]]
        note = str(annotations.get("note") or "")
    run.tags, run.note = tags, note
    return run


def finite(value: float) -> bool:
    return math.isfinite(value)
