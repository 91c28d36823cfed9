"""A run's results: its final metrics and its best value of the experiment's metric."""

from __future__ import annotations

from typing import Any

from dltui.store.runs import RunInfo
from dltui.tracking.stream import MetricHistory, is_finite, summarize


def run_metrics(info: RunInfo) -> dict[str, dict[str, Any]]:
    """{metric: {last, best, count}}: the wrapper's final summary, or read now if live."""
    stored = info.status.get("metrics")
    if info.is_final and isinstance(stored, dict) and stored:
        return stored
    history = MetricHistory(info.dir.metrics_file)
    history.update()
    modes = {info.spec.metric: info.spec.mode} if info.spec.metric else {}
    return summarize(history, mode_of=modes)


def best_value(info: RunInfo) -> float | None:
    """The run's best value of its experiment's metric, if it logged one."""
    metric = info.spec.metric
    if not metric:
        return None
    found = run_metrics(info).get(metric, {}).get("best")
    if found is None:
        found = info.summary().get(metric)
    return found if is_finite(found) else None
