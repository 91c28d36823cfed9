"""Turning `dltui run NAME --set k=v` into queued runs, needed experiments first."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dltui.backends import get_backend
from dltui.errors import UserError
from dltui.manifest import Experiment, Manifest
from dltui.queue.scheduler import QueueSettings, ensure_supervisor
from dltui.snapshots.queueing import LaunchSnapshots
from dltui.store import rundir as rd
from dltui.store.active import mark_active
from dltui.store.names import new_run_id
from dltui.store.runs import RunStore
from dltui.tasks.settings import check_task_params


@dataclass
class GitState:
    commit: str | None = None
    dirty: bool | None = None


def git_state(folder: Path) -> GitState:
    """The commit and dirty flag of the repository holding `folder`, if any."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True,
                                text=True, timeout=5)
        if commit.returncode != 0:
            return GitState()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=folder, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return GitState()
    return GitState(commit.stdout.strip(), bool(dirty.stdout.strip()))


def make_spec(manifest: Manifest, exp: Experiment, params: dict[str, Any], *,
              git: GitState, backend: str | None = None,
              snapshots: LaunchSnapshots | None = None) -> rd.RunSpec:
    gpus = exp.gpus
    if "nproc" in params and isinstance(params["nproc"], int) and exp.gpus > 0:
        gpus = max(gpus, params["nproc"])
    spec = rd.RunSpec(
        run_id=new_run_id(), experiment=exp.name, argv=exp.argv(params), params=params,
        cwd=str(manifest.path.parent), env=dict(exp.env), gpus=gpus, metric=exp.metric,
        mode=exp.mode, group=exp.group, tags=list(exp.tags), task=exp.task,
        needs={name: "" for name in exp.needs}, backend=backend or exp.backend,
        backend_options=dict(manifest.backends.get(backend or exp.backend, {})),
        git_commit=git.commit, git_dirty=git.dirty, manifest=str(manifest.path),
        snapshot=snapshots.id_for(exp, exp.argv(params)) if snapshots else None,
        autolog=exp.autolog,
    )
    get_backend(spec.backend).check_spec(spec)  # a bad [backends.X] fails here, not queued
    return spec


def check_params(exp: Experiment, overrides: Mapping[str, list[Any]] | None = None, *,
                 seeds: int | None = None) -> None:
    """UserError, before anything is queued, for params the experiment cannot take: a
    built-in task's unknown setting or wrong type, a command's param it does not declare,
    or more runs than one launch may make."""
    exp.check_run_count(overrides, seeds=seeds)
    if exp.task:
        check_task_params(exp.task, exp.params, source=f"[experiments.{exp.name}] params")
        grids = ((f"[experiments.{exp.name}] sweep", exp.sweep), ("--set", overrides or {}))
        for source, grid in grids:
            for key, values in grid.items():
                for value in values:
                    check_task_params(exp.task, {key: value}, source=f"{source} {key}")
    _check_overrides(exp, overrides or {})
    for key, values in (overrides or {}).items():
        if any(isinstance(value, str) and "\x00" in value for value in values):
            raise UserError(f"--set {key} holds a NUL character", fix="remove it")


def _check_overrides(exp: Experiment, overrides: Mapping[str, list[Any]]) -> None:
    if exp.command:
        known = set(exp.params) | set(exp.sweep)
        unknown = [k for k in overrides
                   if k not in known and k != "nproc" and not k.startswith("slurm.")]
        if unknown:
            raise UserError(
                f"experiment {exp.name!r} has no param {unknown[0]!r} to --set",
                fix=f"its params are {', '.join(sorted(known)) or 'none'}; add it to "
                f"[experiments.{exp.name}] params first")


def launch(*, manifest: Manifest, names: Iterable[str],
           overrides: Mapping[str, list[Any]] | None = None,
           runs_dir: Path | None = None, backend: str | None = None,
           queue_order: float | None = None, seeds: int | None = None,
           notify: list[str] | None = None) -> list[rd.RunDir]:
    """Queue the runs of `names` (with overrides, each `seeds` times when given); run
    needed experiments first when no finished run of them exists. Returns the queued runs
    of `names` themselves, which send word of their ending to the `notify` URLs beside
    the manifest's; a search experiment's trials are queued by its study's driver
    (`dltui.search.driver.start_study`), started here."""
    if seeds is not None and seeds < 1:
        raise UserError(f"--seeds {seeds} runs nothing", fix="give --seeds 1 or more")
    root = (runs_dir or manifest.runs_dir).resolve()
    requested = list(dict.fromkeys(names))
    experiments = [manifest.experiment(name) for name in requested]
    for exp in experiments:
        check_params(exp, overrides, seeds=seeds)
        if exp.search is not None and (overrides or seeds):
            raise UserError(f"experiment {exp.name!r} is a search: its trials take their "
                            "params from the manifest, not from --set or --seeds",
                            fix=f"change params or space in [experiments.{exp.name}]")
    for name in manifest.closure(requested):
        if name not in requested:
            check_params(manifest.experiments[name])
    store = RunStore(root)
    QueueSettings(manifest.settings.max_parallel, manifest.settings.runs_per_gpu).write(root)
    git = git_state(manifest.path.parent)
    snapshots = LaunchSnapshots(root, manifest)  # all taken before anything is queued
    snapshots.prepare(manifest, requested, overrides)
    batch = new_run_id()
    order = time.time() if queue_order is None else queue_order
    provided: dict[str, list[str]] = {}  # experiment -> runs (relative paths) to wait for
    queued: list[rd.RunDir] = []
    for name in manifest.closure(requested):
        exp = manifest.experiments[name]
        if name not in requested:
            provided[name] = _runs_for_need(store, manifest, exp, git, batch, order, root,
                                            snapshots)
            continue
        if exp.search is not None:
            from dltui.search.driver import start_study

            start_study(manifest=manifest, experiment=name, runs_dir=root)
            continue
        waits = [rel for need in exp.needs for rel in provided.get(need, [])]
        for params in exp.param_sets(overrides, seeds=seeds):
            spec = make_spec(manifest, exp, params, git=git, backend=backend,
                             snapshots=snapshots)
            queued.append(_enqueue(root, spec, waits, order, batch, notify=notify))
        provided[name] = [f"{q.experiment}/{q.run_id}" for q in queued if q.experiment == name]
    ensure_supervisor(root)
    return queued


def _runs_for_need(store: RunStore, manifest: Manifest, exp: Experiment, git: GitState,
                   batch: str, order: float, root: Path,
                   snapshots: LaunchSnapshots | None = None) -> list[str]:
    runs = store.runs(exp.name)
    if any(r.state == rd.SUCCEEDED for r in runs):
        return []
    pending = [r.ref for r in runs if not r.is_final]
    if pending:
        return pending
    made = [_enqueue(root, make_spec(manifest, exp, params, git=git, snapshots=snapshots), [],
                     order, batch) for params in exp.param_sets()]
    return [f"{m.experiment}/{m.run_id}" for m in made]


def _enqueue(root: Path, spec: rd.RunSpec, waits_for: list[str], order: float,
             batch: str, *, notify: list[str] | None = None) -> rd.RunDir:
    extra = {"notify": list(notify)} if notify else {}
    run = rd.create_run_dir(root, spec, state=rd.QUEUED, queued_at=time.time(),
                            queue_order=order, waits_for=waits_for, batch=batch, **extra)
    mark_active(root, run.path)
    return run


def relaunch(*, run: rd.RunDir, overrides: Mapping[str, list[Any]] | None = None,
             manifest: Manifest | None = None) -> list[rd.RunDir]:
    """Queue a run again with the same params, or with some changed."""
    spec, problem = run.read_spec()
    if spec is None:
        raise UserError(f"run {run.run_id} cannot be restarted: {problem or 'it is gone'}",
                        fix=f"start it anew with `dltui run`, or remove it: rm -r {run.path}")
    root = run.runs_root
    if manifest is not None and spec.experiment in manifest.experiments:
        exp = manifest.experiments[spec.experiment]
        grid = {k: [v] for k, v in spec.params.items()}
        grid.update(overrides or {})
        return launch(manifest=manifest, names=[exp.name], overrides=grid, runs_dir=root)
    params_sets = [dict(spec.params)]
    if overrides:
        params_sets = [{**spec.params, **{k: v[0] for k, v in overrides.items()}}]
    made = []
    for params in params_sets:
        fresh = rd.RunSpec(**{**spec.to_json(), "run_id": new_run_id(), "params": params,
                              "created": time.time()})
        made.append(_enqueue(root, fresh, [], time.time(), new_run_id()))
    ensure_supervisor(root)
    return made
