"""Comparison tables: rows are runs, columns the params that differ and each metric's
last and best value, as a homework report prints them (rendered by `views.formats`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dltui.errors import UserError
from dltui.manifest import Manifest
from dltui.store.results import final_metrics
from dltui.store.runs import RunInfo
from dltui.store.spec import RunSpec
from dltui.system.figures import is_system_metric, peak_columns, peak_of
from dltui.tracking.stream import is_number
from dltui.views.seeds import has_seed_groups


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
    # Set when rows are configurations over seeds: each row's runs (`runs` holds the first).
    seed_groups: list[list[RunInfo]] = field(default_factory=list)
    note: str = ""  # what the selection left out (`selection.dropped_note`), if anything


def compare(runs: list[RunInfo], *, labels: Mapping[str, str] | None = None,
            show_same: bool = False, manifest: Manifest | None = None,
            group_seeds: bool = True) -> CompareTable:
    """The comparison of `runs`, sorted by the first run's metric (best first); runs of
    one configuration over several seeds become one row of means (`views.seed_table`).

    A run started by hand knows no metric; the manifest's experiment of the same
    name, when given, says which metric ranks it and which way.
    """
    if not runs:
        raise UserError("no runs to compare", fix="run some first (`dltui run NAME`), or "
                        "check the selection with `dltui ps --all`")
    names = labels or {}
    # Per run, read once: a comparison of 10,000 runs is a few µs a run.
    specs = [info.spec for info in runs]
    metrics = [final_metrics(info) for info in runs]
    summaries = [info.summary() for info in runs]
    # Columns in an order that does not depend on the selection's: the oldest run first.
    by_age = sorted(range(len(runs)), key=lambda i: specs[i].run_id)
    lead = specs[0]
    declared = manifest.experiments.get(lead.experiment) if manifest else None
    ranking, mode = lead.metric, lead.mode
    if not ranking and declared is not None and declared.metric:
        ranking, mode = declared.metric, declared.mode
    param_keys: dict[str, None] = {}
    for index in by_age:  # as the manifest declares them, then as the runs have them
        run_params = specs[index].params
        exp = manifest.experiments.get(specs[index].experiment) if manifest else None
        if exp is not None:
            param_keys.update(dict.fromkeys(k for k in [*exp.params, *exp.sweep]
                                            if k in run_params))
        param_keys.update(dict.fromkeys(run_params))
    differing = [k for k in param_keys if show_same or len(runs) == 1 or _differs(specs, k)]
    # Keys in the order first seen, oldest run first (dicts keep it; a C loop per run).
    seen_metrics: dict[str, None] = {}
    seen_summary: dict[str, None] = {}
    for index in by_age:
        seen_metrics.update(dict.fromkeys(metrics[index]))
        summary = summaries[index]
        if summary:
            seen_summary.update((k, None) for k, v in summary.items()
                                if is_number(v) or isinstance(v, str))
    metric_keys = [ranking] if ranking and ranking in seen_metrics else []
    metric_keys += [k for k in seen_metrics if k != ranking and not is_system_metric(k)]
    summary_keys = [k for k in seen_summary if k not in metric_keys]
    columns = [Column("run", "Run", "run")]
    if len({spec.experiment for spec in specs}) > 1:
        columns.append(Column("experiment", "Experiment", "run"))
    params = [Column(f"param:{k}", names.get(k, k), "param") for k in differing]
    for index, key in enumerate(metric_keys):
        if index == 1 or (index == 0 and key != ranking):
            columns += params  # the ranking metric, then the params, then the rest
            params = []
        columns.append(Column(f"last:{key}", names.get(key, key), "last"))
        if any(m.get(key, {}).get("count", 0) > 1 and m[key].get("best") != m[key].get("last")
               for m in metrics):
            columns.append(Column(f"best:{key}", f"{names.get(key, key)} (best)", "best"))
    columns += params
    columns += [Column(f"summary:{k}", names.get(k, k), "summary") for k in summary_keys]
    peaks = peak_columns([info.status for info in runs])
    columns += [Column(f"peak:{k}", label, "summary") for k, label in peaks]
    columns += [Column("duration", "Duration", "duration"), Column("status", "Status", "status")]
    param_columns = [(key, f"param:{key}") for key in differing]
    metric_columns = [(key, f"last:{key}", f"best:{key}") for key in metric_keys]
    summary_columns = [(key, f"summary:{key}") for key in summary_keys]
    nothing: dict[str, Any] = {}
    rows = []
    for info, spec, found_metrics, summary in zip(runs, specs, metrics, summaries,
                                                  strict=True):
        row: dict[str, Any] = {"run": spec.run_id, "experiment": spec.experiment,
                               "duration": info.duration, "status": info.state}
        run_params = spec.params
        for key, column in param_columns:
            row[column] = run_params.get(key)
        for key, last, best in metric_columns:
            found = found_metrics.get(key, nothing)
            row[last] = found.get("last")
            row[best] = found.get("best")
        for key, column in summary_columns:
            row[column] = summary.get(key)
        if peaks:
            row.update((f"peak:{k}", peak_of(info.status, k)) for k, _ in peaks)
        rows.append(row)
    metric = ranking if ranking in metric_keys or ranking in summary_keys else None
    table = CompareTable(columns, rows, list(runs), metric, mode)
    if metric:
        sort_rows(table, f"best:{metric}" if metric in metric_keys else f"summary:{metric}",
                  descending=mode == "max")
    if group_seeds and has_seed_groups(runs):
        from dltui.views.seed_table import seed_compare

        return seed_compare(table)
    return table


def _differs(specs: list[RunSpec], key: str) -> bool:
    """Whether the runs' values of the param `key` are not all the same (as written, so
    that 1 and 1.0 differ); the first difference ends the look."""
    first = repr(specs[0].params.get(key))
    return any(repr(spec.params.get(key)) != first for spec in specs)


def sort_rows(table: CompareTable, key: str, *, descending: bool = False) -> None:
    """Sort in place by one column; empty and non-finite values go last either way."""
    def rank(pair: tuple[dict[str, Any], RunInfo, list[RunInfo]]) -> tuple[int, Any]:
        value = pair[0].get(key)
        if type(value) is not float:  # most cells are: no attribute to look for
            value = getattr(value, "mean", value)  # a configuration's mean over seeds
        if value is None or (is_number(value) and not math.isfinite(value)):
            return (1, 0)
        if is_number(value):
            return (0, -value if descending else value)
        return (0, str(value))

    groups = table.seed_groups or [[info] for info in table.runs]
    pairs = sorted(zip(table.rows, table.runs, groups, strict=True), key=rank)
    if descending and pairs and not all(is_number(getattr(p[0].get(key), "mean", p[0].get(key)))
                                        or p[0].get(key) is None for p in pairs):
        pairs.reverse()
    table.rows = [p[0] for p in pairs]
    table.runs = [p[1] for p in pairs]
    if table.seed_groups:
        table.seed_groups = [p[2] for p in pairs]


