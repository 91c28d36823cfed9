"""Bringing runs of other tools in as finished dltui runs of a named experiment.

An imported run is an ordinary run directory: run.json (params from the source's
hyperparameters, `imported_from` in the status), status.json `succeeded` with the
source's first and last times, metrics.jsonl with every value at its step, the
summary (each metric's last value), and TensorBoard events for `dltui tb`.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dltui.errors import UserError
from dltui.store import rundir as rd
from dltui.store.names import check_experiment_name, new_run_id
from dltui.tracking.follower import NO_EVENTS_FILE, StreamFollower


@dataclass
class Scalar:
    tag: str
    step: int
    value: float
    time: float | None = None


@dataclass
class SourceRun:
    """One run as another tool left it."""

    path: Path
    kind: str  # tensorboard | lightning-csv
    scalars: list[Scalar] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    event_files: list[Path] = field(default_factory=list)


def records_of(scalars: Iterable[Scalar]) -> list[dict[str, Any]]:
    """metrics.jsonl records: values of one step together, in step then time order; a tag
    logged twice at one step starts a new record, so no value is lost."""
    ordered = sorted(scalars, key=lambda s: (s.step, s.time or 0.0))
    out: list[dict[str, Any]] = []
    for scalar in ordered:
        last = out[-1] if out else None
        if last is None or last["step"] != scalar.step or scalar.tag in last:
            last = {"step": scalar.step}
            if scalar.time is not None:
                last["time"] = round(scalar.time, 3)
            out.append(last)
        last[scalar.tag] = scalar.value
    return out


def write_imported(source: SourceRun, *, runs_dir: Path, experiment: str) -> rd.RunDir:
    """A finished run directory holding `source`."""
    import json

    times = [s.time for s in source.scalars if s.time is not None]
    started = min(times) if times else source.path.stat().st_mtime
    ended = max(times) if times else started
    spec = rd.RunSpec(run_id=new_run_id(), experiment=experiment, argv=[], params=source.params,
                      cwd=str(source.path), tags=["imported"], created=started)
    run = rd.create_run_dir(runs_dir, spec, state=rd.SUCCEEDED, queued_at=started,
                            started_at=started, ended_at=ended, exit_code=0,
                            imported_from=str(source.path), imported_kind=source.kind)
    records = records_of(source.scalars)
    with open(run.metrics_file, "w", encoding="utf-8") as out:
        out.writelines(json.dumps(record) + "\n" for record in records)
    if source.event_files:  # TensorBoard reads the very files it wrote: none of ours
        for event_file in source.event_files:
            shutil.copy2(event_file, run.tb_dir / event_file.name)
        (run.tb_dir / NO_EVENTS_FILE).touch()
    # The stream's summary, and its events where the source had none, as for any run.
    follower = StreamFollower(run)
    fields = follower.stop()
    rd.write_json_atomic(run.summary_file, {name: figures.last for name, figures
                                             in follower.summary.figures.items()})
    run.write_status(metrics=fields["metrics"], last_step=fields["last_step"])
    return run


def import_runs(*, path: Path, experiment: str, runs_dir: Path) -> list[tuple[SourceRun,
                                                                             rd.RunDir]]:
    """Import every TensorBoard run folder and Lightning CSVLogger folder under `path`."""
    from dltui.bridges.lightning_in import find_lightning_runs
    from dltui.bridges.tensorboard_in import find_tensorboard_runs

    check_experiment_name(experiment)
    if not path.exists():
        raise UserError(f"{path} does not exist", fix="give a TensorBoard log folder or a "
                        "Lightning CSVLogger folder (the one holding metrics.csv)")
    sources = find_lightning_runs(path) + find_tensorboard_runs(path)
    if not sources:
        raise UserError(f"no TensorBoard event files and no metrics.csv under {path}",
                        fix="point at a folder TensorBoard's --logdir would take, or at a "
                        "Lightning logger's version_N folder")
    return [(source, write_imported(source, runs_dir=runs_dir, experiment=experiment))
            for source in sources]
