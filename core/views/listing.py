"""Rows for listings (`dltui list`, `dltui ps`, the dashboard): plain dicts of facts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dltui.backends import get_backend
from dltui.errors import UserError
from dltui.store import rundir as rd
from dltui.store.annotations import read_annotations
from dltui.store.results import best_value
from dltui.store.runs import RunInfo, RunStore
from dltui.system.figures import PREFIX as SYSTEM_PREFIX
from dltui.system.figures import split_system
from dltui.tracking.progress import progress_of_history
from dltui.tracking.stream import MetricHistory

if TYPE_CHECKING:
    from dltui.manifest import Manifest


def experiment_rows(*, manifest: Manifest, store: RunStore) -> list[dict[str, Any]]:
    """One row per experiment: what it runs, how many runs a launch makes, latest status."""
    rows = []
    for exp in manifest.experiments.values():
        runs = store.runs(exp.name)
        latest = runs[-1] if runs else None
        scores = [v for v in (best_value(r) for r in runs if r.state == rd.SUCCEEDED)
                  if v is not None]
        best = (max(scores) if exp.mode == "max" else min(scores)) if scores else None
        rows.append({
            "name": exp.name,
            "runs_per_launch": len(exp.param_sets()),
            "what": f"task {exp.task}" if exp.task else " ".join(exp.command),
            "group": exp.group or "",
            "tags": list(exp.tags),
            "metric": exp.metric or "",
            "mode": exp.mode,
            "needs": list(exp.needs),
            "runs": len(runs),
            "latest_state": latest.state if latest else "",
            "latest_run": latest.run_id if latest else "",
            "best": best,
            "description": exp.description,
        })
    return rows


def progress_of(info: RunInfo, history: MetricHistory | None = None) -> dict[str, Any]:
    """Step, total, ETA and latest values of a run, read from its metrics stream."""
    if history is None:
        history = MetricHistory(info.dir.metrics_file)
        history.update()
    progress = progress_of_history(history, params=info.spec.params, started=info.started,
                                   is_final=info.is_final)
    latest, use = split_system({name: series.last for name, series in history.series.items()})
    return {"step": progress.step, "total": progress.total, "eta": progress.eta,
            "latest": latest, "use": use}


def run_row(info: RunInfo, *, with_progress: bool = True) -> dict[str, Any]:
    # Fields read once each, straight from the records: `ps --all` makes 10,000 rows.
    spec, status, state = info.spec, info.status, info.state
    annotations = read_annotations(info)
    row: dict[str, Any] = {
        "run": spec.run_id,
        "experiment": spec.experiment,
        "state": state,
        "params": spec.params,
        "gpus": status.gpu_ids,
        "pid": status.pid,
        "exit_code": status.exit_code,
        "error": status.error,
        "queued_at": status.queued_at,
        "started_at": status.started_at,
        "ended_at": status.ended_at,
        "duration": info.duration,
        "path": info.dir.text,
        "tags": annotations.tags,
        "note": annotations.note,
        "reproduces": spec.reproduces,
    }
    if info.damage:
        row["error"] = f"{info.damage}; {info.damage_fix}"
    try:
        backend = get_backend(spec.backend)
    except UserError:
        backend = None  # a backend of another version: its own facts are not shown
    if backend is not None:
        row.update(backend.row_fields(status), where=backend.where(status),
                   state_note=backend.state_note(status))
    if with_progress:
        row.update(progress_of(info))
    else:  # a finished run's wrapper left the last values in its status
        metrics = status.metrics or {}
        row.update(step=status.last_step, total=status.total, eta=None,
                   latest={k: v.get("last") for k, v in metrics.items()
                           if not k.startswith(SYSTEM_PREFIX)},
                   use=status.extra.get("sys_peaks") or {})
    return row
