"""What the feeds hand to the screens: frozen plain data, built off the app's thread.

A screen renders these and nothing else; it never reads a run directory itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from dltui.store.runs import RunInfo


@dataclass(frozen=True)
class MetricDigest:
    """One metric of one run: its last and best values and its curve, downsampled:
    `points` are the values, `steps` and `times` (seconds since the run's first record)
    where each was logged. `drawn` is how many of its `count` values the curve holds,
    when not all (the curve is cut down again later)."""

    name: str
    last: float | None
    best: float | None
    mode: str
    count: int
    points: tuple[float, ...] = ()
    steps: tuple[float, ...] = ()
    times: tuple[float, ...] = ()
    drawn: int | None = None

    def xs(self, wall_time: bool = False) -> tuple[float, ...]:
        """The x of each point: its step, or its wall time."""
        if wall_time and len(self.times) == len(self.points):
            return self.times
        if len(self.steps) == len(self.points):
            return self.steps
        return tuple(float(i) for i in range(len(self.points)))


@dataclass(frozen=True)
class RunDigest:
    """A run's metrics and progress as read at one moment."""

    metrics: Mapping[str, MetricDigest] = field(default_factory=dict)
    step: float | None = None
    total: float | None = None
    eta: float | None = None

    def metric(self, name: str | None) -> MetricDigest | None:
        if name and name in self.metrics:
            return self.metrics[name]
        return None


class RunRecord(NamedTuple):
    """One row of the runs listing: the run, its cells, and the values it sorts by.
    It is a table row as it stands (`key`, `cells`, `style`): 10,000 of them are shown
    without building anything. A named tuple, not a frozen dataclass: as immutable, and
    made eight times faster (10,000 at a dashboard's first listing)."""

    ref: str
    info: RunInfo
    cells: tuple[str, ...]
    sort_keys: tuple[Any, ...]
    search: str  # lowercase text the filter matches against
    metric: str = ""
    best: float | None = None
    last: float | None = None
    style: str = ""

    @property
    def key(self) -> str:
        return self.ref


@dataclass(frozen=True)
class ExperimentEntry:
    """One row of the experiments screen: an experiment, or one param set of its sweep."""

    key: str
    experiment: str
    label: str
    depth: int
    group: str
    tags: tuple[str, ...]
    params: Mapping[str, Any]  # the param set of a sweep row; {} for an experiment row
    runs: int
    states: Mapping[str, int]
    latest: RunInfo | None
    metric: str
    mode: str
    best: float | None
    curve: tuple[float, ...]
    search: str
    # The metric's curve of each run the chart overlays: (label, digest), a sweep's rows
    # for an experiment, the row's latest run for a sweep row.
    curves: tuple[tuple[str, MetricDigest], ...] = ()


@dataclass(frozen=True)
class CatalogSnapshot:
    """Every run known, the active ones, and the rows built from them."""

    version: int
    loaded: bool
    records: tuple[RunRecord, ...] = ()
    active: tuple[RunInfo, ...] = ()
    digests: Mapping[str, RunDigest] = field(default_factory=dict)  # running runs, by ref
    entries: tuple[ExperimentEntry, ...] = ()
    by_ref: Mapping[str, RunRecord] = field(default_factory=dict)

    def info(self, ref: str) -> RunInfo | None:
        record = self.by_ref.get(ref)
        return record.info if record else None


@dataclass(frozen=True)
class RunView:
    """The run screen's picture of one run: status, metrics, progress, log tail.

    `log_seq` counts every log line ever read, so a screen that missed some
    snapshots still knows how many lines of `log_tail` are new to it.
    """

    info: RunInfo
    digest: RunDigest
    log_tail: tuple[str, ...]
    log_seq: int
    summary: Mapping[str, Any] = field(default_factory=dict)
