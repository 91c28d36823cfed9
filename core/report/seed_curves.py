"""The report's curves for runs over seeds: per configuration, the mean at each step
with a band of ± one standard deviation across its seeds."""

from __future__ import annotations

import math
from collections.abc import Mapping

from dltui.report.figures import _better, _x_axis, add_curve_figure, axis_label
from dltui.report.model import Report, ReportRun
from dltui.tracking.stream import is_finite
from dltui.views.seeds import MeanStd


def mean_curve(views: list[ReportRun], metric: str) -> tuple[list[float], list[float],
                                                             list[float]]:
    """Steps, means and stds of `metric` over the runs (each step over the runs having it)."""
    at: dict[float, list[float]] = {}
    for view in views:
        series = view.history.series.get(metric)
        if series is None:
            continue
        for step, value in zip(series.steps, series.values, strict=True):
            if is_finite(value):
                at.setdefault(float(step), []).append(float(value))
    steps = sorted(at)
    stats = [MeanStd.of(at[s]) for s in steps]
    return steps, [s.mean for s in stats], [s.std for s in stats]


def seed_curve_figures(groups: list[list[ReportRun]], labels: list[str],
                       names: Mapping[str, str], report: Report, *,
                       lead_metric: tuple[str | None, str]) -> list[str]:
    """One figure per metric logged more than once: a mean line and band per group."""
    from dltui.report.plots import Curve

    metrics: list[str] = []
    for group in groups:
        for view in group:
            metrics.extend(n for n in view.history.series if n not in metrics)
    blocks = []
    for metric in metrics:
        curves, having = [], []
        for index, (group, label) in enumerate(zip(groups, labels, strict=True)):
            steps, means, stds = mean_curve(group, metric)
            if steps:
                n = sum(metric in v.history.series for v in group)
                curves.append(Curve(f"{label} (n={n})", steps, means, index, band=stds))
                having.append(group)
        if not curves or max(len(c.values) for c in curves) < 2:
            continue
        steps_all = [s for c in curves for s in c.steps]
        xlabel, integer_x = _x_axis([v for g in having for v in g], steps_all)
        label = names.get(metric, metric)
        title = f"{label} per {xlabel.lower()}, mean ± std over seeds" \
                f"{_better(metric, lead_metric)}"
        ylabel = axis_label(metric, label, [x for c in curves for x in c.values
                                            if math.isfinite(x)])
        about = [{"runs": [v.info.ref for v in group], "std": list(curve.band or [])}
                 for group, curve in zip(having, curves, strict=True)]
        blocks.append(add_curve_figure(report, curves, about, kind="mean-curve", metric=metric,
                                       title=title, xlabel=xlabel, ylabel=ylabel,
                                       integer_x=integer_x))
    return blocks
