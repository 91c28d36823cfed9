"""The report's figures: a curve figure per metric logged more than once, a bar chart
per metric logged once (when two or more runs have it), with their titles, axis labels
and file names. Each PNG goes into the report's files and what it plots into
report.json; `curve_figures` and `bar_figures` return the Markdown that shows them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from dltui.report.model import Report, ReportRun, md_text
from dltui.store import rundir as rd
from dltui.system.figures import is_system_metric
from dltui.tracking.stream import guess_mode, is_finite, is_number

FIGURES_DIR = "figures"


def _mode_of(metric: str, lead: tuple[str | None, str]) -> str:
    if metric == lead[0]:
        return lead[1]
    return guess_mode(metric, default="")


def _better(metric: str, lead: tuple[str | None, str]) -> str:
    mode = _mode_of(metric, lead)
    return {"max": " (higher is better)", "min": " (lower is better)"}.get(mode, "")


_FRACTION_HINTS = ("acc", "iou", "recall", "precision", "f1", "auc", "r1", "r5", "r10")
_SECONDS_HINTS = ("time", "duration", "seconds", "latency")


def axis_label(metric: str, label: str, values: list[float]) -> str:
    """The y label with its unit where the name and values make it plain."""
    lowered = metric.lower()
    finite = [v for v in values if is_finite(v)]
    if any(h in lowered for h in _SECONDS_HINTS) or lowered.endswith("_s"):
        return f"{label} (s)"
    if finite and any(h in lowered for h in _FRACTION_HINTS):
        if all(0.0 <= v <= 1.0 for v in finite):
            return f"{label} (fraction, 0–1)"
        if all(0.0 <= v <= 100.0 for v in finite):
            return f"{label} (%)"
    return label


def _x_axis(views: list[ReportRun], steps: list[float]) -> tuple[str, bool]:
    """'Epoch' when every run counts epochs and no step passes its epochs, else 'Step';
    and whether the ticks should be whole numbers."""
    whole = all(float(s).is_integer() for s in steps)
    epochs: list[Any] = [v.info.spec.params.get("epochs") for v in views]
    by_epoch = whole and bool(steps) and all(is_number(e) for e in epochs) and \
        max(steps) <= max(float(e) for e in epochs if is_number(e))
    span = (max(steps) - min(steps)) if steps else 0
    return ("Epoch" if by_epoch else "Step"), whole and span <= 60


def _figure_name(metric: str, suffix: str = "") -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", metric).strip("._") or "metric"
    return f"{FIGURES_DIR}/{safe}{suffix}.png"


def _legend(view: ReportRun) -> str:
    if view.info.state == rd.SUCCEEDED:
        return view.label
    return f"{view.label} ({'running' if not view.info.is_final else view.info.state})"


def _metric_names(views: list[ReportRun]) -> list[str]:
    names: list[str] = []
    for view in views:
        # System figures are in the table as peaks; a curve each would bury the metrics.
        names.extend(n for n in view.history.series if n not in names
                     and not is_system_metric(n))
    return names


def curve_figures(views: list[ReportRun], names: Mapping[str, str], report: Report, *,
                  lead_metric: tuple[str | None, str]) -> list[str]:
    from dltui.report.plots import Curve

    blocks = []
    for metric in _metric_names(views):
        having = [v for v in views if metric in v.history.series]
        if max(len(v.history.series[metric].values) for v in having) < 2:
            continue  # logged once: a bar chart or the table shows it
        curves = [Curve(_legend(v), v.history.series[metric].steps,
                        v.history.series[metric].values, v.color) for v in having]
        steps = [s for c in curves for s in c.steps]
        xlabel, integer_x = _x_axis(having, steps)
        label = names.get(metric, metric)
        title = f"{label} per {xlabel.lower()}{_better(metric, lead_metric)}"
        ylabel = axis_label(metric, label, [x for c in curves for x in c.values])
        blocks.append(add_curve_figure(report, curves, [{"run": v.info.ref} for v in having],
                                       kind="curve", metric=metric, title=title,
                                       xlabel=xlabel, ylabel=ylabel, integer_x=integer_x))
    return blocks


def add_curve_figure(report: Report, curves: list[Any], about: list[dict[str, Any]], *,
                     kind: str, metric: str, title: str, xlabel: str, ylabel: str,
                     integer_x: bool) -> str:
    """Draw `curves` (`report.plots.Curve`) on one line chart, put its PNG and its record
    in `report` (each series: what `about` says of its curve, then the points plotted),
    and return the Markdown that shows it."""
    from dltui.report.plots import line_chart

    png, plotted = line_chart(curves, title=title, xlabel=xlabel, ylabel=ylabel,
                              integer_x=integer_x)
    name = _figure_name(metric)
    report.files[name] = png
    report.figures.append({
        "file": name, "kind": kind, "metric": metric, "title": title,
        "xlabel": xlabel, "ylabel": ylabel,
        "series": [{**known, **points} for known, points in zip(about, plotted, strict=True)]})
    return f"![{md_text(title)}]({quote(name)})"


def _single_values(views: list[ReportRun]) -> dict[str, dict[str, float]]:
    """{metric: {run ref: value}} of metrics logged once, and of score-like summary values."""
    found: dict[str, dict[str, float]] = {}
    logged = _metric_names(views)
    for metric in logged:
        having = [v for v in views if metric in v.history.series]
        if max(len(v.history.series[metric].values) for v in having) != 1:
            continue
        found[metric] = {v.info.ref: v.history.series[metric].values[0] for v in having
                         if is_finite(v.history.series[metric].values[0])}
    for view in views:
        for key, value in view.info.dir.summary().items():
            if key in logged or not is_finite(value) or isinstance(value, bool):
                continue
            if guess_mode(key, default="") == "":
                continue  # a count or a setting, not a score: the table has it
            found.setdefault(key, {})[view.info.ref] = float(value)
    return found


def bar_figures(views: list[ReportRun], names: Mapping[str, str], report: Report, *,
                lead_metric: tuple[str | None, str]) -> list[str]:
    from dltui.report.plots import Bar, bar_chart

    blocks = []
    for metric, values in _single_values(views).items():
        if len(values) < 2:
            continue  # one bar compares nothing; the table shows the value
        having = [v for v in views if v.info.ref in values]
        bars = [Bar(_legend(v), values[v.info.ref], v.color) for v in having]
        label = names.get(metric, metric)
        title = f"{label}{_better(metric, lead_metric)}"
        ylabel = axis_label(metric, label, list(values.values()))
        png, plotted = bar_chart(bars, title=title, ylabel=ylabel)
        name = _figure_name(metric, "-bar")
        report.files[name] = png
        report.figures.append({
            "file": name, "kind": "bar", "metric": metric, "title": title, "ylabel": ylabel,
            "series": [{"run": v.info.ref, **points}
                       for v, points in zip(having, plotted, strict=True)]})
        blocks.append(f"![{md_text(title)}]({quote(name)})")
    return blocks

