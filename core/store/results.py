"""A run's results: its final metrics, its best value, and the best of several runs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dltui.store.runs import RunInfo
from dltui.tracking.stream import is_finite, summary_of_stream


def final_metrics(info: RunInfo) -> dict[str, dict[str, Any]]:
    """{metric: {last, best, count}}: the wrapper's final summary, or read now if live."""
    stored = info.status.metrics
    if info.is_final and stored:
        return stored
    modes = {info.spec.metric: info.spec.mode} if info.spec.metric else {}
    return summary_of_stream(info.dir.metrics_file).metrics(mode_of=modes)


def best_value(info: RunInfo, metric: str | None = None) -> float | None:
    """The run's best value of `metric` (default: its experiment's), if it logged one;
    else what its summary says of that metric."""
    metric = metric or info.spec.metric
    if not metric:
        return None
    found: Any = final_metrics(info).get(metric, {}).get("best")
    if found is None:
        found = info.summary().get(metric)
    return float(found) if is_finite(found) else None


def best_run(runs: Iterable[RunInfo], metric: str | None = None,
             mode: str | None = None) -> RunInfo | None:
    """The run with the best value of `metric` (default: the last run's experiment's) in
    its `mode`; None when no run logged a finite value of it. Ties go to the earlier run."""
    runs = list(runs)
    if not runs:
        return None
    metric = metric or runs[-1].spec.metric
    mode = mode or runs[-1].spec.mode
    if not metric:
        return None
    scored = [(value, index, info) for index, info in enumerate(runs)
              if (value := best_value(info, metric)) is not None]
    if not scored:
        return None
    sign = 1.0 if mode == "max" else -1.0
    return max(scored, key=lambda item: (sign * item[0], -item[1]))[2]
