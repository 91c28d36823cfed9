"""Export to MLflow through its own client: a local sqlite file, a folder, or a server.

Each dltui run becomes one MLflow run in an experiment of the same name: params,
every metric value with its step and time, numeric summary values as metrics
(strings as `summary.KEY` tags), tags, the note as MLflow's note, and the state.
A run exported before (tag `dltui.run_id`) is left as it is.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dltui.bridges.exported import ExportedRun
from dltui.bridges.optional import require
from dltui.store import rundir as rd
from dltui.tracking.stream import is_number

_STATUS = {rd.SUCCEEDED: "FINISHED", rd.KILLED: "KILLED"}  # other ends are failures
_BATCH = 1000  # MLflow's limit of metrics in one log_batch


def tracking_uri(dest: str | None) -> str:
    """The store to write: a URI as given, a folder (MLflow's file store), or a `.db` file
    (sqlite, the default `./mlflow.db`)."""
    if dest and "://" in dest:
        return dest
    path = Path(dest or "mlflow.db").resolve()
    if path.suffix == ".db":
        return f"sqlite:///{path}"
    # MLflow keeps its file store for reading and writing but asks for an opt-in.
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    return path.as_uri()


def export_mlflow(runs: list[ExportedRun], *, dest: str | None) -> list[str]:
    """Write `runs` into the MLflow store at `dest`; one line per run, then how to look."""
    require("mlflow", "dltui export --to mlflow")
    import logging

    for noisy in ("mlflow", "alembic"):  # their INFO lines on creating a store say nothing
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    uri = tracking_uri(dest)
    if uri.startswith("sqlite:"):
        require("sqlalchemy", f"an MLflow store in {uri}")
        require("alembic", f"an MLflow store in {uri}")
    client = MlflowClient(tracking_uri=uri)
    lines = []
    for run in runs:
        info = run.info
        found = client.get_experiment_by_name(info.experiment)
        experiment_id = found.experiment_id if found else client.create_experiment(
            info.experiment)
        earlier = client.search_runs([experiment_id],
                                     filter_string=f"tags.`dltui.run_id` = '{info.run_id}'")
        if earlier:
            lines.append(f"{info.ref}: already in MLflow as run {earlier[0].info.run_id}")
            continue
        created = client.create_run(experiment_id, start_time=int(run.started * 1000),
                                    tags=_tags(run), run_name=run.name)
        run_id = created.info.run_id
        params = [Param(k, _param_text(v)) for k, v in run.params.items()]
        for start in range(0, len(params), 100):
            client.log_batch(run_id, params=params[start:start + 100])
        metrics = [Metric(name, p.value, int(p.time * 1000), p.step)
                   for name, points in run.metrics.items() for p in points]
        last_step = max((p.step for points in run.metrics.values() for p in points), default=0)
        when = int((run.ended or run.started) * 1000)
        metrics += [Metric(k, float(v), when, last_step) for k, v in run.summary.items()
                    if is_number(v) and k not in run.metrics]
        for start in range(0, len(metrics), _BATCH):
            client.log_batch(run_id, metrics=metrics[start:start + _BATCH])
        if info.is_final:
            client.set_terminated(run_id, status=_STATUS.get(info.state, "FAILED"),
                                  end_time=int((run.ended or run.started) * 1000))
        lines.append(f"{info.ref}: MLflow run {run_id} in experiment {info.experiment}")
    lines.append(f"look: mlflow ui --backend-store-uri {uri}")
    return lines


def _param_text(value: Any) -> str:
    """A param as MLflow keeps it (a string), written as the manifest would."""
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _tags(run: ExportedRun) -> dict[str, str]:
    info = run.info
    tags = {"dltui.run_id": info.run_id, "dltui.experiment": info.experiment,
            "dltui.state": info.state, "dltui.command": " ".join(info.spec.argv)}
    if run.tags:
        tags["dltui.tags"] = ",".join(run.tags)
        tags.update((tag, "true") for tag in run.tags)
    if run.note:
        tags["mlflow.note.content"] = run.note
    if info.status.host:
        tags["dltui.host"] = info.status.host
    if info.spec.git_commit:
        tags["mlflow.source.git.commit"] = info.spec.git_commit
    tags.update((f"summary.{k}", str(v)) for k, v in run.summary.items() if isinstance(v, str))
    return tags
