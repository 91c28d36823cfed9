"""Plain, pipe-friendly text for the headless commands (no colours, no markup)."""

from __future__ import annotations

import time
from typing import Any

from dltui.store import rundir as rd
from dltui.system.figures import use_text
from dltui.views.numbers import format_duration, format_value


def launch_plan(queued: list[rd.RunDir]) -> list[str]:
    """What a launch will run, in order: the runs of needed experiments it waits for
    first, then its own, each with its params."""
    lines: list[str] = []
    first: list[str] = []
    for run in queued:
        for waited in run.status().waits_for:
            if waited not in first:
                first.append(waited)
    for ref in first:
        spec = rd.RunDir(queued[0].runs_root / ref).spec()
        params = params_text(spec.params, None) if spec else ""
        lines.append(f"first  {ref}  {params}".rstrip())
    for run in queued:
        spec = run.spec()
        lines.append(f"queued {run.experiment}/{run.run_id}  "
                     f"{params_text(spec.params, None) if spec else ''}".rstrip())
    return lines


def columns_text(headers: list[str], rows: list[list[str]]) -> str:
    if not rows:
        return ""
    # Column by column and one format a line: 10,000 rows are C loops, not 100,000 calls.
    columns = list(zip(headers, *rows, strict=True))
    widths = [max(map(len, column)) for column in columns]
    line = "  ".join(f"{{:<{width}}}" for width in widths).format
    return "\n".join(line(*cells).rstrip() for cells in (headers, *rows)) + "\n"


def experiments_text(rows: list[dict[str, Any]]) -> str:
    return columns_text(
        ["EXPERIMENT", "RUNS", "WHAT", "GROUP", "METRIC", "BEST", "LATEST"],
        [[r["name"], str(r["runs_per_launch"]), r["what"][:40], r["group"],
          f"{r['metric']} ({r['mode']})" if r["metric"] else "", format_value(r["best"]),
          r["latest_state"]] for r in rows])


def params_text(params: dict[str, Any], limit: int | None = 60) -> str:
    """`lr=0.01 batch=32`, cut to `limit` characters (None: whole)."""
    text = " ".join([f"{k}={format_value(v, 'param')}" for k, v in params.items()])
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def step_text(row: dict[str, Any]) -> str:
    step, total = row.get("step"), row.get("total")
    if step is None:
        return ""
    return f"{format_value(step)}/{format_value(total)}" if total is not None else str(step)


def _state_cell(row: dict[str, Any]) -> str:
    """Our state, with the backend's own name for it beside it when that says more."""
    note = row.get("state_note")
    return f"{row['state']} ({note})" if note else str(row["state"])


def _where_cell(row: dict[str, Any]) -> str:
    if row.get("where"):
        return str(row["where"])
    return "cpu" if not row.get("gpus") else ",".join(map(str, row["gpus"]))


def annotation_columns(rows: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    from dltui.store.disk import human_bytes

    found: list[tuple[str, Any]] = []
    if any(r.get("tags") or r.get("note") for r in rows):
        found.append(("TAGS / NOTE", lambda r: " ".join(
            [*(f"#{t}" for t in r.get("tags") or []), *([_cut(r["note"], 40)] if r.get("note")
                                                        else [])])))
    if any("disk" in r for r in rows):
        found.append(("DISK", lambda r: human_bytes(r["disk"]) if "disk" in r else ""))
    return found


def _cut(text: str, width: int) -> str:
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= width else line[:width - 1] + "…"


def runs_text(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no runs\n"
    now = time.time()
    header = ["RUN", "EXPERIMENT", "STATE", "GPU", "STEP", "TIME", "ETA", "USE", "PARAMS",
              "LATEST"]
    cells = [_run_cells(r, now) for r in rows]
    extra = annotation_columns(rows)  # tags and note, disk use: only when a row has them
    if extra:
        for line, r in zip(cells, rows, strict=True):
            line += [cell(r) for _, cell in extra]
    return columns_text(header + [name for name, _ in extra], cells)


def _run_cells(r: dict[str, Any], now: float) -> list[str]:
    duration, eta, latest = r.get("duration"), r.get("eta"), r.get("latest")
    if duration is not None:
        took = format_duration(duration)
    elif r.get("queued_at") and not r.get("started_at"):
        took = format_duration(now - r["queued_at"]) + " queued"
    else:
        took = ""
    return [
        r["run"], r["experiment"], _state_cell(r), _where_cell(r), step_text(r), took,
        format_duration(eta) if eta is not None else "", use_text(r.get("use")),
        params_text(r.get("params") or {}, 40),
        " ".join([f"{k}={format_value(v)}" for k, v in list(latest.items())[:3]])
        if latest else "",
    ]
