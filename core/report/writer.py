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

This module puts the Markdown together and writes the folder; the runs as the
report shows them are in `report_model`, the figures in `report_figures`, each
run's artifacts in `report_artifacts`, the HTML in `report_html`.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Mapping
from pathlib import Path

from dltui.errors import UserError
from dltui.manifest import Manifest
from dltui.report.artifacts import artifact_markdown, log_tail
from dltui.report.figures import bar_figures, curve_figures
from dltui.report.model import Report, ReportRun, legend_labels, md_text, status_line
from dltui.store import rundir as rd
from dltui.store.runs import RunInfo
from dltui.tracking.stream import MetricHistory
from dltui.views.compare import compare
from dltui.views.formats import render
from dltui.views.numbers import format_value, plural

REPORT_FORMATS = ("md", "html")
SIDECAR = "report.json"


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
            from dltui.report.html import to_html

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
    groups = table.seed_groups or [[info] for info in table.runs]
    ordered = [info for group in groups for info in group]  # best first, as the table sorts
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
    if table.seed_groups:
        from dltui.report.seed_curves import seed_curve_figures

        by_ref = {view.info.ref: view for view in views}
        curves = seed_curve_figures(
            [[by_ref[i.ref] for i in group] for group in groups],
            legend_labels([group[0] for group in groups]), names, report,
            lead_metric=(table.metric, table.mode))
    else:
        curves = curve_figures(views, names, report, lead_metric=(table.metric, table.mode))
    if curves:
        parts += ["## Curves", *curves]
    bars = bar_figures(views, names, report, lead_metric=(table.metric, table.mode))
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


def _intro(views: list[ReportRun], experiments: list[str]) -> str:
    counts: dict[str, int] = {}
    for view in views:
        counts[view.info.state] = counts.get(view.info.state, 0) + 1
    states = ", ".join(f"{n} {state}" for state, n in counts.items())
    named = ", ".join(f"`{e}`" for e in experiments)
    return (f"{plural(len(views), 'run')} of {named} ({states}), "
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


def _run_section(view: ReportRun, files: dict[str, bytes]) -> list[str]:
    info = view.info
    params = ", ".join(f"{k}={format_value(v, 'param')}" for k, v in info.spec.params.items())
    parts = [f"### {md_text(view.label)}",
             f"`{info.ref}` · {md_text(view.status_text)}"
             + (f" · {md_text(params)}" if params else "")]
    if info.is_final and info.state != rd.SUCCEEDED:
        tail = log_tail(info.dir.log_file)
        error = info.status.error or info.state
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
