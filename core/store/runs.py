"""Finding runs on disk: listing, resolving a reference, and reconciling status.

Status is reconciled with the run's backend whenever it is read: a run whose
wrapper process is gone is never left "running". A run whose files cannot be
read is listed as `damaged`, with the reason; it never hides or breaks the others.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dltui.backends import get_backend
from dltui.errors import UserError
from dltui.store import rundir as rd
from dltui.store.active import active_paths, unmark_active
from dltui.store.spec import RunSpec
from dltui.store.status import RunStatus


@dataclass
class RunInfo:
    dir: rd.RunDir
    spec: RunSpec
    status: RunStatus
    cached_summary: dict[str, Any] | None = None
    spec_damage: str | None = None  # what is wrong with run.json, when it is damaged
    status_mtime: int | None = None  # of status.json in ns, where a reader took it already

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
        return rd.DAMAGED if self.spec_damage else self.status.state

    @property
    def is_final(self) -> bool:
        return self.state in rd.FINAL_STATES

    @property
    def damage(self) -> str | None:
        """What is wrong with the run's files; None when nothing is."""
        return self.spec_damage or self.status.damaged

    @property
    def damage_fix(self) -> str:
        return f"repair the file, or remove the run: rm -r {self.dir.path}"

    @property
    def started(self) -> float | None:
        return self.status.started_at

    @property
    def duration(self) -> float | None:
        status = self.status
        started = status.started_at
        if started is None:
            return None
        state = self.state
        if state in (rd.QUEUED, rd.DAMAGED):
            return None
        ended = status.ended_at or (None if state in rd.FINAL_STATES else time.time())
        return None if ended is None else max(0.0, ended - started)

    @property
    def ref(self) -> str:
        return f"{self.experiment}/{self.run_id}"


def reconcile(run: rd.RunDir, spec: RunSpec, status: RunStatus) -> RunStatus:
    """The status as the run's backend finds it (a dead wrapper becomes lost or killed)."""
    if status.state == rd.DAMAGED:
        return status
    try:
        backend = get_backend(spec.backend)
    except UserError:
        return status  # a backend of another version: shown as its files say
    return backend.reconcile(run, spec, status)


def load_run(path: Path | str) -> RunInfo | None:
    """The run in `path` (None when there is no such directory); damaged files give a
    run in state `damaged` that says what is wrong."""
    run = rd.RunDir(path)
    spec, problem = run.read_spec()
    if spec is None:
        if problem is None and not os.path.isdir(path):
            return None
        placeholder = RunSpec.placeholder(run.run_id, run.experiment)
        return RunInfo(run, placeholder, run.status(),
                       spec_damage=problem or "run.json is missing")
    return RunInfo(run, spec, reconcile(run, spec, run.status()))


def _dir_names(folder: str | Path) -> list[str]:
    """The visible subdirectories of `folder`, sorted; none when it is not a directory."""
    try:
        return sorted(e.name for e in os.scandir(folder)
                      if not e.name.startswith(".") and e.is_dir(follow_symlinks=False))
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return []


class RunStore:
    """Every run under one runs directory."""

    def __init__(self, runs_dir: Path | str) -> None:
        self.root = Path(runs_dir)
        # The active runs as last read, by path: (status file identity, spec, status).
        self._active_read: dict[Path, tuple[tuple[int, int, int], RunSpec, RunStatus]] = {}

    def check_readable(self) -> None:
        """UserError when the runs directory is something else than a directory."""
        if self.root.exists() and not self.root.is_dir():
            raise UserError(f"the runs directory {self.root} is a file, not a directory",
                            fix="give --runs a directory (or set runs_dir in the manifest)")

    def run_paths(self, experiment: str | None = None) -> list[Path]:
        """Run directories, oldest first within each experiment."""
        paths: list[Path] = []
        for name in [experiment] if experiment else self.experiment_names():
            paths.extend(self.root / name / run_id for run_id in _dir_names(self.root / name))
        return paths

    def runs(self, experiment: str | None = None, *, prefetched: bool = True) -> list[RunInfo]:
        """Every run (of one experiment), oldest first; finished ones come from the index
        (`prefetched`: once another process started by `store.prefetch` has made it)."""
        from dltui.store.bulk import collector_paused
        from dltui.store.index import FinishedIndex
        from dltui.store.prefetch import wait_for_prefetch

        found: list[RunInfo] = []
        with collector_paused():
            for name in [experiment] if experiment else self.experiment_names():
                if prefetched:  # on the heels of a child reading them (`store.prefetch`)
                    wait_for_prefetch(self.root, name)
                folder = os.path.join(self.root, name)
                found.extend(FinishedIndex(Path(folder)).load(_dir_names(folder)))
        if prefetched and experiment is None:
            wait_for_prefetch(self.root)  # done with every experiment: its end, and reaped
        return found

    def experiment_names(self) -> list[str]:
        return _dir_names(self.root)

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
                try:
                    unmark_active(self.root, path.name)
                except OSError:
                    pass  # a read-only runs directory: the entry stays, the run shows final
                if info is None:
                    continue
            found.append(info)
        return found

    def _load_active(self, path: Path) -> RunInfo | None:
        run = rd.RunDir(path)
        identity = run.status_stamp()
        known = self._active_read.get(path)
        if known is not None and known[0] == identity:
            spec, status = known[1], known[2]
        else:
            if known is not None:
                spec = known[1]  # run.json never changes
            else:
                read, _ = run.read_spec()
                if read is None:
                    return load_run(path)  # damaged, or gone: shown as such
                spec = read
            status = run.status()
            if identity is not None:
                self._active_read[path] = (identity, spec, status)
        return RunInfo(run, spec, reconcile(run, spec, status))

    def is_experiment(self, ref: str) -> bool:
        """Whether `ref` names an experiment of this runs directory (not a run id)."""
        ref = ref.strip().rstrip("/")
        return bool(ref) and "/" not in ref and not ref.startswith(".") and \
            (self.root / ref).is_dir()

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
            # `experiment/id` names a folder of this runs directory, never one beside it.
            named = bool(experiment) and not experiment.startswith(".") and "/" not in prefix
            candidates = [p for p in self.run_paths(experiment) if p.name.startswith(prefix)
                          ] if named else []
        else:
            if self.is_experiment(ref):
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
            raise UserError(f"run {ref!r} is gone", fix="`dltui ps --all` lists runs")
        return info
