"""`dltui report`: the comparison a homework or a paper needs, as Markdown or one HTML file.

    out/report.md        title, notes on failed and live runs, the comparison table,
                         a figure per metric, and a section per run with its artifacts
    out/figures/*.png    one curve figure per metric logged more than once, a bar chart
                         per metric logged once (when two or more runs have it)
    out/artifacts/EXPERIMENT/RUN/...   the images the runs saved, copied
    out/report.json      what each figure plots (every point), the runs, the files written

`--format html` writes out/report.html instead, with every image inlined as a
data URI: one self-contained file. The Markdown uses relative links only, so
the folder renders on GitHub as it is.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from dltui import rundir as rd
from dltui.compare import compare, format_duration, format_value, render
from dltui.errors import UserError
from dltui.listing import progress_of
from dltui.manifest import Manifest
from dltui.metrics import MetricHistory, guess_mode, is_finite, is_number
from dltui.report_artifacts import artifact_markdown, log_tail
from dltui.store import RunInfo

REPORT_FORMATS = ("md", "html")
SIDECAR = "report.json"
FIGURES_DIR = "figures"
LABEL_LIMIT = 48


@dataclass
class ReportRun:
    """One run as the report shows it: its legend label, colour and status line."""

    info: RunInfo
    label: str
    color: int
    history: MetricHistory
    status_text: str


@dataclass
class Report:
    title: str
    markdown: str
    files: dict[str, bytes] = field(default_factory=dict)  # relative path -> content
    figures: list[dict[str, Any]] = field(default_factory=list)
    runs: list[ReportRun] = field(default_factory=list)

    def sidecar(self, fmt: str, written: list[str]) -> dict[str, Any]:
        return {
            "title": self.title, "format": fmt,
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "runs": [{"ref": r.info.ref, "label": r.label, "state": r.info.state,
                      "status": r.status_text, "error": r.info.status.get("error"),
                      "params": r.info.spec.params} for r in self.runs],
            "figures": self.figures, "files": written,
        }


def write_report(*, runs: list[RunInfo], out_dir: Path, fmt: str = "md",
                 labels: dict[str, str] | None = None, title: str | None = None,
                 manifest: Manifest | None = None) -> Path:
    """Write the report of `runs` into `out_dir` (made if missing); returns report.md or
    report.html. Files a previous report there wrote and this one does not are removed."""
    if fmt not in REPORT_FORMATS:
        raise UserError(f"unknown report format {fmt!r}", fix="use md or html")
    out = _prepare_out_dir(Path(out_dir))
    report = build_report(runs=runs, labels=labels, title=title, manifest=manifest)
    previous = _previous_files(out)
    try:
        if fmt == "html":
            from dltui.report_html import to_html

            target = out / "report.html"
            target.write_text(to_html(report), encoding="utf-8")
            written = [target.name]
        else:
            for rel, data in report.files.items():
                path = out / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            target = out / "report.md"
            target.write_text(report.markdown, encoding="utf-8")
            written = [target.name, *report.files]
        (out / SIDECAR).write_text(json.dumps(report.sidecar(fmt, written), indent=1,
                                              default=str) + "\n", encoding="utf-8")
    except OSError as err:
        raise UserError(f"cannot write the report into {out}: {err.strerror or err}",
                        fix="give -o a folder you can write to, with space left") from None
    _remove_stale(out, previous - set(written))
    return target


def build_report(*, runs: list[RunInfo], labels: Mapping[str, str] | None = None,
                 title: str | None = None, manifest: Manifest | None = None) -> Report:
    """The report in memory: its Markdown (relative links) and the files those link."""
    if not runs:
        raise UserError("no runs to report", fix="check the selection with `dltui ps --all`; "
                        "run some first with `dltui run NAME`")
    names = dict(labels or {})
    table = compare(runs, labels=names, manifest=manifest)
    ordered = list(table.runs)  # best first, as the table sorts them
    views = [ReportRun(info, label, index, _history(info), status_line(info))
             for index, (info, label) in enumerate(zip(ordered, legend_labels(ordered),
                                                       strict=True))]
    experiments = list(dict.fromkeys(info.experiment for info in ordered))
    heading = title or "Report: " + (", ".join(experiments) if len(experiments) <= 3
                                     else f"{len(experiments)} experiments")
    report = Report(title=heading, markdown="", runs=views)
    parts = [f"# {md_text(heading)}", _intro(views, experiments)]
    notes = _notes(views)
    if notes:
        parts.append(notes)
    parts += ["## Comparison", render(table, "md").rstrip()]
    if table.metric:
        better = "higher" if table.mode == "max" else "lower"
        parts.append(f"Sorted by {md_text(names.get(table.metric, table.metric))}, best "
                     f"first ({better} is better).")
    curves = _curve_figures(views, names, report, lead_metric=(table.metric, table.mode))
    if curves:
        parts += ["## Curves", *curves]
    bars = _bar_figures(views, names, report, lead_metric=(table.metric, table.mode))
    if bars:
        parts += ["## Final values", *bars]
    parts.append("## Runs")
    for view in views:
        parts += _run_section(view, report.files)
    report.markdown = "\n\n".join(parts) + "\n"
    return report


def _history(info: RunInfo) -> MetricHistory:
    history = MetricHistory(info.dir.metrics_file)
    history.update()
    return history


def md_text(text: str) -> str:
    """`text` with Markdown's special characters escaped, to show as it is."""
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", text)


def legend_labels(runs: list[RunInfo]) -> list[str]:
    """A short unique name per run from the params that differ among its experiment's runs
    ("lr=0.01"), prefixed by the experiment when several are shown; the experiment name
    when nothing differs."""
    several = len({info.experiment for info in runs}) > 1
    labels = []
    for info in runs:
        peers = [i for i in runs if i.experiment == info.experiment]
        differing = [k for k in info.spec.params if len({
            json.dumps(i.spec.params.get(k), sort_keys=True, default=str) for i in peers}) > 1]
        text = ", ".join(f"{k}={format_value(info.spec.params[k], 'param')}" for k in differing)
        if several:
            text = f"{info.experiment}: {text}" if text else info.experiment
        text = text or info.experiment
        labels.append(text if len(text) <= LABEL_LIMIT else text[:LABEL_LIMIT - 1] + "…")
    counts = {label: labels.count(label) for label in labels}
    return [f"{label} #{info.run_id[-4:]}" if counts[label] > 1 else label
            for label, info in zip(labels, runs, strict=True)]


def status_line(info: RunInfo) -> str:
    """'succeeded in 1:02', 'running: step 3/15', 'failed: exited with code 1', 'queued'."""
    state = info.state
    if state in (rd.RUNNING, rd.STARTING):
        progress = progress_of(info)
        step, total = progress["step"], progress["total"]
        if step is None:
            return f"{state}: no step logged yet"
        done = f"step {format_value(step)}" + (f"/{format_value(total)}"
                                               if total is not None else "")
        return f"{state}: {done}"
    if state == rd.SUCCEEDED:
        took = info.duration
        return f"succeeded in {format_duration(took)}" if took is not None else state
    error = info.status.get("error")
    return f"{state}: {error}" if error else state


def _intro(views: list[ReportRun], experiments: list[str]) -> str:
    counts: dict[str, int] = {}
    for view in views:
        counts[view.info.state] = counts.get(view.info.state, 0) + 1
    states = ", ".join(f"{n} {state}" for state, n in counts.items())
    return (f"{len(views)} run(s) of {', '.join(f'`{e}`' for e in experiments)} ({states}), "
            f"reported {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.")


def _notes(views: list[ReportRun]) -> str:
    """A quote block naming the runs that did not succeed, first thing a reader sees."""
    lines = []
    for view in views:
        if view.info.state == rd.SUCCEEDED:
            continue
        verb = "is " if not view.info.is_final else ""
        lines.append(f"> - **{md_text(view.label)}** (`{view.info.ref}`) {verb}"
                     f"{md_text(view.status_text)}")
    if not lines:
        return ""
    return "> **Note:** the table and figures show these runs as they are now.\n>\n" + \
        "\n".join(lines)


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
    epochs = [v.info.spec.params.get("epochs") for v in views]
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
        names.extend(n for n in view.history.series if n not in names)
    return names


def _curve_figures(views: list[ReportRun], names: Mapping[str, str], report: Report, *,
                   lead_metric: tuple[str | None, str]) -> list[str]:
    from dltui.figures import Curve, line_chart

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
        png, plotted = line_chart(curves, title=title, xlabel=xlabel, ylabel=ylabel,
                                  integer_x=integer_x)
        name = _figure_name(metric)
        report.files[name] = png
        report.figures.append({
            "file": name, "kind": "curve", "metric": metric, "title": title,
            "xlabel": xlabel, "ylabel": ylabel,
            "series": [{"run": v.info.ref, **points}
                       for v, points in zip(having, plotted, strict=True)]})
        blocks.append(f"![{md_text(title)}]({quote(name)})")
    return blocks


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


def _bar_figures(views: list[ReportRun], names: Mapping[str, str], report: Report, *,
                 lead_metric: tuple[str | None, str]) -> list[str]:
    from dltui.figures import Bar, bar_chart

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


def _run_section(view: ReportRun, files: dict[str, bytes]) -> list[str]:
    info = view.info
    params = ", ".join(f"{k}={format_value(v, 'param')}" for k, v in info.spec.params.items())
    parts = [f"### {md_text(view.label)}",
             f"`{info.ref}` · {md_text(view.status_text)}"
             + (f" · {md_text(params)}" if params else "")]
    if info.is_final and info.state != rd.SUCCEEDED:
        tail = log_tail(info.dir.log_file)
        error = info.status.get("error") or info.state
        parts.append(f"**{info.state.capitalize()}:** {md_text(str(error))}."
                     + (" Last lines of `output.log`:" if tail else ""))
        if tail:
            fence = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`+", tail)), default=0))
            parts.append(f"{fence}text\n{tail}\n{fence}")
    parts += artifact_markdown(info, files)
    return parts


def _prepare_out_dir(out: Path) -> Path:
    out = out.expanduser()
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} exists and is not a folder",
                        fix="give -o a folder (new or existing) for report.md and its figures")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"cannot make the report folder {out}: {err.strerror or err}",
                        fix="give -o a folder you can write to") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise UserError(f"the report folder {out} is not writable",
                        fix="give -o a folder you can write to") from None
    return out


def _previous_files(out: Path) -> set[str]:
    data = rd.read_json(out / SIDECAR, {})
    files = data.get("files") if isinstance(data, dict) else None
    return {f for f in files if isinstance(f, str)} if isinstance(files, list) else set()


def _remove_stale(out: Path, stale: set[str]) -> None:
    """Remove what an earlier report here wrote and this one did not, never outside `out`."""
    root = out.resolve()
    for rel in sorted(stale):
        path = (out / rel).resolve()
        if root not in path.parents:
            continue
        path.unlink(missing_ok=True)
        for parent in path.parents:
            if parent == root:
                break
            try:
                parent.rmdir()  # only when empty
            except OSError:
                break
