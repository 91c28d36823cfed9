"""Comparison tables: rows are runs, columns the params that differ and each metric's
last and best value, as a homework report prints them.

Formats: plain text, Markdown, CSV, LaTeX (booktabs) and JSON.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dltui.errors import UserError
from dltui.manifest import Manifest
from dltui.store.runs import RunInfo, RunStore
from dltui.tracking.stream import MetricHistory, is_finite, is_number, summarize

FORMATS = ("table", "md", "csv", "latex", "json")


@dataclass
class Column:
    key: str
    label: str
    kind: str  # run | param | last | best | summary | duration | status


@dataclass
class CompareTable:
    columns: list[Column]
    rows: list[dict[str, Any]]
    runs: list[RunInfo] = field(default_factory=list)
    metric: str | None = None
    mode: str = "min"


def run_metrics(info: RunInfo) -> dict[str, dict[str, Any]]:
    """{metric: {last, best, count}}: the wrapper's final summary, or read now if live."""
    stored = info.status.get("metrics")
    if info.is_final and isinstance(stored, dict) and stored:
        return stored
    history = MetricHistory(info.dir.metrics_file)
    history.update()
    modes = {info.spec.metric: info.spec.mode} if info.spec.metric else {}
    return summarize(history, mode_of=modes)


def select_runs(store: RunStore, selection: Iterable[str], *, manifest: Manifest | None = None,
                all_runs: bool = False) -> list[RunInfo]:
    """Runs named by experiments, groups (of the manifest), `tag:NAME`, or run references.

    For an experiment, group or tag, only the latest run of each distinct set of params
    is kept unless `all_runs`: a sweep run twice compares once.
    """
    tokens = list(selection)
    groups = manifest.groups if manifest else {}
    chosen: list[RunInfo] = []
    if not tokens:
        tokens = [p.name for p in sorted(store.root.iterdir())
                  if p.is_dir() and not p.name.startswith(".")] if store.root.is_dir() else []
    for token in tokens:
        experiments: list[str] | None = None
        if "/" in token:  # experiment/run-id: one run
            chosen.append(store.resolve(token))
            continue
        if token.startswith("tag:") and manifest:
            experiments = [e.name for e in manifest.experiments.values() if token[4:] in e.tags]
        elif token in groups and not (store.root / token).is_dir():
            experiments = groups[token]
        elif (store.root / token).is_dir() or (manifest and token in manifest.experiments):
            experiments = [token]
        if experiments is None:
            chosen.append(store.resolve(token))
            continue
        for name in experiments:
            runs = store.runs(name)
            chosen.extend(runs if all_runs else _latest_per_params(runs))
    seen: set[str] = set()
    unique = []
    for info in chosen:
        if info.ref not in seen:
            seen.add(info.ref)
            unique.append(info)
    return unique


def labels_for(manifest: Manifest | None, runs: Iterable[RunInfo]) -> dict[str, str]:
    """Column labels the manifest gives the runs' experiments (`labels = {lr = "..."}`)."""
    labels: dict[str, str] = {}
    if manifest is not None:
        for info in runs:
            exp = manifest.experiments.get(info.experiment)
            if exp:
                labels.update(exp.labels)
    return labels


def _latest_per_params(runs: list[RunInfo]) -> list[RunInfo]:
    latest: dict[str, RunInfo] = {}
    for info in runs:  # oldest first, so later ones win
        latest[json.dumps(info.spec.params, sort_keys=True, default=str)] = info
    return sorted(latest.values(), key=lambda i: i.run_id)


def compare(runs: list[RunInfo], *, labels: Mapping[str, str] | None = None,
            show_same: bool = False, manifest: Manifest | None = None) -> CompareTable:
    """The comparison of `runs`, sorted by the first run's metric (best first).

    A run started by hand knows no metric; the manifest's experiment of the same
    name, when given, says which metric ranks it and which way.
    """
    if not runs:
        raise UserError("no runs to compare", fix="run some first (`dltui run NAME`), or "
                        "check the selection with `dltui ps --all`")
    names = labels or {}
    refs = [info.ref for info in runs]
    metrics = {ref: run_metrics(info) for ref, info in zip(refs, runs, strict=True)}
    param_keys: list[str] = []
    for info in runs:
        param_keys.extend(k for k in info.spec.params if k not in param_keys)
    differing = [k for k in param_keys if show_same or len(runs) == 1 or len(
        {repr(i.spec.params.get(k)) for i in runs}) > 1]
    metric_keys: list[str] = []
    for found in metrics.values():
        metric_keys.extend(k for k in found if k not in metric_keys)
    summary_keys: list[str] = []
    summaries = {ref: info.summary() for ref, info in zip(refs, runs, strict=True)}
    for summary in summaries.values():
        summary_keys.extend(k for k, v in summary.items() if k not in metric_keys
                            and k not in summary_keys and (is_number(v) or isinstance(v, str)))
    columns = [Column("run", "Run", "run")]
    experiments = {info.experiment for info in runs}
    if len(experiments) > 1:
        columns.append(Column("experiment", "Experiment", "run"))
    columns += [Column(f"param:{k}", names.get(k, k), "param") for k in differing]
    lead = runs[0].spec
    for key in metric_keys:
        columns.append(Column(f"last:{key}", names.get(key, key), "last"))
        if any(m.get(key, {}).get("count", 0) > 1 and m[key].get("best") != m[key].get("last")
               for m in metrics.values()):
            columns.append(Column(f"best:{key}", f"{names.get(key, key)} (best)", "best"))
    columns += [Column(f"summary:{k}", names.get(k, k), "summary") for k in summary_keys]
    columns += [Column("duration", "Duration", "duration"), Column("status", "Status", "status")]
    rows = []
    for ref, info in zip(refs, runs, strict=True):
        row: dict[str, Any] = {"run": info.run_id, "experiment": info.experiment,
                               "duration": info.duration, "status": info.state}
        for key in differing:
            row[f"param:{key}"] = info.spec.params.get(key)
        for key in metric_keys:
            found = metrics[ref].get(key, {})
            row[f"last:{key}"] = found.get("last")
            row[f"best:{key}"] = found.get("best")
        for key in summary_keys:
            row[f"summary:{key}"] = summaries[ref].get(key)
        rows.append(row)
    ranking, mode = lead.metric, lead.mode
    declared = manifest.experiments.get(lead.experiment) if manifest else None
    if not ranking and declared is not None and declared.metric:
        ranking, mode = declared.metric, declared.mode
    metric = ranking if ranking in metric_keys or ranking in summary_keys else None
    table = CompareTable(columns, rows, list(runs), metric, mode)
    if metric:
        sort_rows(table, f"best:{metric}" if metric in metric_keys else f"summary:{metric}",
                  descending=mode == "max")
    return table


def sort_rows(table: CompareTable, key: str, *, descending: bool = False) -> None:
    """Sort in place by one column; empty and non-finite values go last either way."""
    def rank(pair: tuple[dict[str, Any], RunInfo]) -> tuple[int, Any]:
        value = pair[0].get(key)
        if value is None or (is_number(value) and not math.isfinite(value)):
            return (1, 0)
        if is_number(value):
            return (0, -value if descending else value)
        return (0, str(value))

    pairs = sorted(zip(table.rows, table.runs, strict=True), key=rank)
    if descending and pairs and not all(is_number(p[0].get(key)) or p[0].get(key) is None
                                        for p in pairs):
        pairs.reverse()
    table.rows = [p[0] for p in pairs]
    table.runs = [p[1] for p in pairs]


def format_value(value: Any, kind: str = "") -> str:
    if value is None:
        return "-" if kind != "param" else ""
    if kind == "duration":
        return format_duration(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10000 else str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value.is_integer() and abs(value) >= 10000:
            return f"{int(value):,}"
        return f"{value:.4g}"
    return str(value)


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _cells(table: CompareTable) -> list[list[str]]:
    return [[format_value(row.get(c.key), c.kind) for c in table.columns] for row in table.rows]


def render(table: CompareTable, fmt: str = "table") -> str:
    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}", fix=f"use one of {', '.join(FORMATS)}")
    headers = [c.label for c in table.columns]
    if fmt == "json":
        return json.dumps([{c.label: _json_value(row.get(c.key)) for c in table.columns}
                           for row in table.rows], indent=1)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(headers)
        for row in table.rows:
            writer.writerow(["" if row.get(c.key) is None else row.get(c.key)
                             for c in table.columns])
        return out.getvalue()
    cells = _cells(table)
    if fmt == "md":
        escape = [[cell.replace("|", "\\|") for cell in line] for line in [headers, *cells]]
        aligns = ["---:" if c.kind in ("last", "best", "summary", "duration") else "---"
                  for c in table.columns]
        lines = ["| " + " | ".join(escape[0]) + " |", "| " + " | ".join(aligns) + " |"]
        lines += ["| " + " | ".join(line) + " |" for line in escape[1:]]
        return "\n".join(lines) + "\n"
    if fmt == "latex":
        spec = "".join("r" if c.kind in ("last", "best", "summary", "duration") else "l"
                       for c in table.columns)
        lines = [f"\\begin{{tabular}}{{{spec}}}", "\\toprule",
                 " & ".join(_latex(h) for h in headers) + " \\\\", "\\midrule"]
        lines += [" & ".join(_latex(cell) for cell in line) + " \\\\" for line in cells]
        lines += ["\\bottomrule", "\\end{tabular}"]
        return "\n".join(lines) + "\n"
    widths = [max(len(h), *(len(line[i]) for line in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    right = [c.kind in ("last", "best", "summary", "duration") for c in table.columns]

    def line(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if r else v.ljust(w)
                         for v, w, r in zip(values, widths, right, strict=True)).rstrip()

    return "\n".join([line(headers), *(line(c) for c in cells)]) + "\n"


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


_LATEX_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
                  "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  "\\": r"\textbackslash{}"}


def _latex(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def best_value(info: RunInfo) -> float | None:
    """The run's best value of its experiment's metric, if it logged one."""
    metric = info.spec.metric
    if not metric:
        return None
    found = run_metrics(info).get(metric, {}).get("best")
    if found is None:
        found = info.summary().get(metric)
    return found if is_finite(found) else None
