"""Finding runs on disk: listing, resolving a reference, and reconciling status.

Status is reconciled with the process table whenever it is read: a run whose
wrapper process is gone is never left "running".
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dltui.errors import UserError
from dltui.procs import hostname, is_alive
from dltui.store import rundir as rd
from dltui.store.active import active_paths, unmark_active


@dataclass
class RunInfo:
    dir: rd.RunDir
    spec: rd.RunSpec
    status: dict[str, Any]
    cached_summary: dict[str, Any] | None = None

    def summary(self) -> dict[str, Any]:
        """The training code's summary.json (cached for finished runs)."""
        if self.cached_summary is None or not self.is_final:
            self.cached_summary = self.dir.summary()
        return self.cached_summary

    @property
    def run_id(self) -> str:
        return self.spec.run_id

    @property
    def experiment(self) -> str:
        return self.spec.experiment

    @property
    def state(self) -> str:
        return str(self.status.get("state", rd.QUEUED))

    @property
    def is_final(self) -> bool:
        return self.state in rd.FINAL_STATES

    @property
    def started(self) -> float | None:
        return self.status.get("started_at")

    @property
    def duration(self) -> float | None:
        started = self.started
        if started is None:
            return None
        ended = self.status.get("ended_at") or (None if self.is_final else time.time())
        return None if ended is None else max(0.0, ended - started)

    @property
    def ref(self) -> str:
        return f"{self.experiment}/{self.run_id}"


def reconcile(run: rd.RunDir, status: dict[str, Any]) -> dict[str, Any]:
    """The status with a dead wrapper turned final ("lost", or "killed" if a stop was asked)."""
    if status.get("backend") == "slurm":
        from dltui.backends.slurm import join_status

        return join_status(run, status)  # the job's Slurm state, final ones included
    state = status.get("state")
    if state not in (rd.STARTING, rd.RUNNING):
        return status
    if status.get("backend", "local") != "local" or status.get("host", hostname()) != hostname():
        return status  # another machine's process table is not ours to read
    if is_alive(status.get("pid"), status.get("pid_start")):
        return status
    if state == rd.STARTING and time.time() - float(status.get("updated", 0)) < 5:
        return status  # the scheduler is between writing "starting" and the pid
    # The wrapper writes its final status before it exits: read again before judging.
    fresh = run.status()
    if fresh.get("state") not in (rd.STARTING, rd.RUNNING):
        return fresh
    if is_alive(fresh.get("pid"), fresh.get("pid_start")):
        return fresh
    stopped = run.stop_requested()
    return run.write_status(
        state=rd.KILLED if stopped else rd.LOST, ended_at=time.time(),
        error=None if stopped else "the run's process ended without reporting (killed, "
        "out of memory, or the machine restarted)")


def load_run(path: Path) -> RunInfo | None:
    run = rd.RunDir(path)
    spec = run.spec()
    if spec is None:
        return None
    return RunInfo(run, spec, reconcile(run, run.status()))


class RunStore:
    """Every run under one runs directory."""

    def __init__(self, runs_dir: Path | str) -> None:
        self.root = Path(runs_dir)
        # The active runs as last read, by path: (status file identity, spec, status).
        self._active_read: dict[Path, tuple[tuple[int, int, int], rd.RunSpec,
                                            dict[str, Any]]] = {}

    def run_paths(self, experiment: str | None = None) -> list[Path]:
        """Run directories, oldest first within each experiment."""
        paths: list[Path] = []
        try:
            experiments = [experiment] if experiment else sorted(
                e.name for e in os.scandir(self.root)
                if e.is_dir(follow_symlinks=False) and not e.name.startswith("."))
        except FileNotFoundError:
            return []
        for name in experiments:
            try:
                ids = sorted(e.name for e in os.scandir(self.root / name)
                             if not e.name.startswith(".") and e.is_dir(follow_symlinks=False))
            except (FileNotFoundError, NotADirectoryError):
                continue
            paths.extend(self.root / name / run_id for run_id in ids)
        return paths

    def runs(self, experiment: str | None = None) -> list[RunInfo]:
        """Every run (of one experiment), oldest first; finished ones come from the index."""
        found: list[RunInfo] = []
        for name in [experiment] if experiment else self.experiment_names():
            folder = os.path.join(self.root, name)
            try:
                ids = sorted(e.name for e in os.scandir(folder)
                             if not e.name.startswith(".") and e.is_dir(follow_symlinks=False))
            except (FileNotFoundError, NotADirectoryError):
                continue
            found.extend(FinishedIndex(Path(folder)).load(ids))
        return found

    def experiment_names(self) -> list[str]:
        try:
            return sorted(e.name for e in os.scandir(self.root)
                          if e.is_dir(follow_symlinks=False) and not e.name.startswith("."))
        except FileNotFoundError:
            return []

    def active(self) -> list[RunInfo]:
        """Queued and running runs (the index), reconciled; finished ones leave the index.

        The dashboard and the queue's supervisor ask several times a second: a run
        whose status file is the one read last time is not parsed again (a stat
        instead of two reads; 1,000 queued runs cost milliseconds, not 150 ms)."""
        found = []
        paths = active_paths(self.root)
        for stale in self._active_read.keys() - set(paths):
            del self._active_read[stale]
        for path in paths:
            info = self._load_active(path)
            if info is None or info.is_final:
                if info is None and path.exists():
                    continue  # still being created
                unmark_active(self.root, path.name)
                if info is None:
                    continue
            found.append(info)
        return found

    def _load_active(self, path: Path) -> RunInfo | None:
        run = rd.RunDir(path)
        identity = run.status_stamp()
        if identity is None:
            self._active_read.pop(path, None)
            return load_run(path)
        known = self._active_read.get(path)
        if known is not None and known[0] == identity:
            spec, status = known[1], known[2]
        else:
            spec = known[1] if known is not None else run.spec()  # run.json never changes
            if spec is None:
                return None
            status = run.status()
            self._active_read[path] = (identity, spec, status)
        return RunInfo(run, spec, reconcile(run, dict(status)))

    def latest(self, experiment: str) -> RunInfo | None:
        for path in reversed(self.run_paths(experiment)):
            info = load_run(path)
            if info is not None:
                return info
        return None

    def resolve(self, ref: str) -> RunInfo:
        """A run from its full id, a unique id prefix, `experiment/id`, or an experiment
        name (its latest run)."""
        ref = ref.strip().rstrip("/")
        if not ref:
            raise UserError("an empty run reference", fix="give a run id, a prefix of one, or "
                            "an experiment name")
        if "/" in ref:
            experiment, _, prefix = ref.partition("/")
            candidates = [p for p in self.run_paths(experiment) if p.name.startswith(prefix)]
        else:
            if (self.root / ref).is_dir() and not ref.startswith("."):
                latest = self.latest(ref)
                if latest is not None:
                    return latest
            candidates = [p for p in self.run_paths() if p.name.startswith(ref)]
        if not candidates:
            raise UserError(f"no run matches {ref!r} in {self.root}",
                            fix="`dltui ps --all` lists runs; give an id, a unique prefix, or "
                            "an experiment name")
        exact = [p for p in candidates if p.name == ref.rpartition("/")[2]]
        if len(candidates) > 1 and len(exact) != 1:
            shown = ", ".join(f"{p.parent.name}/{p.name}" for p in candidates[:5])
            raise UserError(f"{ref!r} matches {len(candidates)} runs: {shown}",
                            fix="give more characters of the run id")
        info = load_run((exact or candidates)[0])
        if info is None:
            raise UserError(f"run {ref!r} has no run.json", fix="it is damaged; remove it")
        return info


INDEX_FILE = ".finished.json"


def _settled(status: dict[str, Any]) -> bool:
    """Whether a final status can no longer change: a Slurm run's waits for Slurm's word."""
    return (status.get("backend") != "slurm" or not status.get("slurm_job_id")
            or status.get("state") == rd.SUCCEEDED or bool(status.get("slurm_verdict")))


class FinishedIndex:
    """A per-experiment cache of finished runs: one file read instead of three per run.

    A finished run's files no longer change, so its spec, status and summary are
    kept in `runs/<experiment>/.finished.json`, each entry checked against the
    modification time of its status.json (one stat, much cheaper than a read).
    Any reader refreshes it with an atomic replace; losing a race costs a rebuild.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / INDEX_FILE

    def load(self, run_ids: list[str]) -> list[RunInfo]:
        """The runs of these ids (in this order), from the index where it is current."""
        cached = rd.read_json(self.path, {})
        if not isinstance(cached, dict):
            cached = {}
        fresh: dict[str, Any] = {}
        found: list[RunInfo] = []
        changed = False
        folder = str(self.folder)
        for run_id in run_ids:
            # String paths: pathlib costs more than the stat itself at 10,000 runs.
            path = f"{folder}/{run_id}"
            try:
                mtime = os.stat(f"{path}/{rd.STATUS_FILE}").st_mtime_ns
            except (FileNotFoundError, NotADirectoryError):
                continue
            entry = cached.get(run_id)
            if isinstance(entry, dict) and entry.get("mtime") == mtime:
                fresh[run_id] = entry
                found.append(RunInfo(rd.RunDir(path), rd.RunSpec.from_json(entry["spec"]),
                                     entry["status"], entry["summary"]))
                continue
            info = load_run(Path(path))
            if info is None:
                continue
            found.append(info)
            if info.is_final and _settled(info.status):
                changed = True
                fresh[run_id] = {"mtime": os.stat(f"{path}/{rd.STATUS_FILE}").st_mtime_ns,
                                    "spec": info.spec.to_compact_json(),
                                    "status": info.status,
                                    "summary": info.summary()}
        if changed or len(fresh) != len(cached):
            try:
                rd.write_json_atomic(self.path, fresh, compact=True)
            except OSError:
                pass  # a read-only runs directory still lists, only slower
        return found
