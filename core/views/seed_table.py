"""The comparison of seeded runs: one row per configuration, mean ± std and n per
metric, ranked by mean, with Welch's p-value against the best configuration."""

from __future__ import annotations

import math
from collections.abc import Sequence

from dltui.store.runs import RunInfo
from dltui.views.compare import Column, CompareTable
from dltui.views.seeds import SEED_PARAM, MeanStd, seed_groups, welch_test

P_COLUMN = "p:welch"


def seed_compare(table: CompareTable) -> CompareTable:
    """`table` (one row per run, as `compare` makes it) grouped by configuration."""
    by_ref = {info.ref: row for info, row in zip(table.runs, table.rows, strict=True)}
    groups = seed_groups(table.runs)
    measured = [c for c in table.columns if c.kind in ("last", "best", "summary")]
    columns = [c for c in table.columns if c.key == "experiment"
               or (c.kind == "param" and c.key != f"param:{SEED_PARAM}")]
    columns.append(Column("n", "n", "count"))
    columns += measured
    rank_key = None
    if table.metric:
        rank_key = next((c.key for c in measured if c.key in (
            f"best:{table.metric}", f"summary:{table.metric}")), None) or next(
            (c.key for c in measured if c.key == f"last:{table.metric}"), None)
    if rank_key:
        columns.append(Column(P_COLUMN, "p (Welch)", "p"))
    columns.append(Column("status", "Status", "status"))
    rows = []
    for group in groups:
        members = [by_ref[info.ref] for info in group]
        row: dict[str, object] = {key: members[0].get(key) for key in
                                  ("experiment", *(c.key for c in columns if c.kind == "param"))}
        row["n"] = len(group)
        row["runs"] = [info.run_id for info in group]
        for column in measured:
            row[column.key] = _mean_of(members, column.key)
        row["status"] = _states(group)
        rows.append(row)
    order = list(range(len(rows)))
    if rank_key:
        def rank(index: int) -> tuple[int, float]:
            found = rows[index].get(rank_key)
            if not isinstance(found, MeanStd) or not math.isfinite(found.mean):
                return (1, 0.0)
            return (0, -found.mean if table.mode == "max" else found.mean)

        order.sort(key=rank)
        best = [by_ref[i.ref].get(rank_key) for i in groups[order[0]]]
        for index in order[1:]:
            other = [by_ref[i.ref].get(rank_key) for i in groups[index]]
            test = welch_test(_finite(best), _finite(other))
            rows[index][P_COLUMN] = test.p if test else None
    grouped = CompareTable(columns, [rows[i] for i in order], [groups[i][0] for i in order],
                           table.metric, table.mode)
    grouped.seed_groups = [groups[i] for i in order]
    return grouped


def _finite(values: Sequence[object]) -> list[float]:
    return [float(v) for v in values if isinstance(v, (int, float))
            and not isinstance(v, bool) and math.isfinite(v)]


def _mean_of(rows: Sequence[dict[str, object]], key: str) -> MeanStd | None:
    values = _finite([row.get(key) for row in rows])
    return MeanStd.of(values) if values else None


def _states(infos: Sequence[RunInfo]) -> str:
    counts: dict[str, int] = {}
    for info in infos:
        counts[info.state] = counts.get(info.state, 0) + 1
    if len(counts) == 1:
        return next(iter(counts))
    return ", ".join(f"{n} {state}" for state, n in counts.items())
