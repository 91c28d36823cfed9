"""The queue: start queued runs as GPU slots (or CPU slots) free up.

One scheduler runs per runs directory, in the detached supervisor process
(`dltui.queue.supervisor`, holding `.supervisor.lock`). Its state
is the run directories themselves, so a killed supervisor loses nothing: the
next `dltui` command that finds queued runs and no supervisor starts another.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from dltui.backends import Backend, get_backend
from dltui.errors import UserError
from dltui.procs import is_alive, lock_holder, process_lock, reap_children
from dltui.queue.detached import start_supervisor
from dltui.queue.gpus import gpu_indices
from dltui.store import rundir as rd
from dltui.store.results import best_run
from dltui.store.runs import RunInfo, RunStore

LOCK_FILE = ".supervisor.lock"
SETTINGS_FILE = ".queue.json"
SUPERVISOR_LOG = ".supervisor.log"


@dataclass
class QueueSettings:
    max_parallel: int = 1
    runs_per_gpu: int = 1

    @classmethod
    def read(cls, runs_dir: Path) -> QueueSettings:
        """The settings the last launch wrote; a value that is not a count of one or
        more (a file damaged or edited by hand) is the default, so the queue goes on."""
        data = rd.read_json(runs_dir / SETTINGS_FILE, {})
        if not isinstance(data, dict):
            return cls()
        return cls(**{k: v for k, v in data.items() if k in ("max_parallel", "runs_per_gpu")
                      and type(v) is int and v >= 1})

    def write(self, runs_dir: Path) -> None:
        runs_dir.mkdir(parents=True, exist_ok=True)
        rd.write_json_atomic(runs_dir / SETTINGS_FILE, self.__dict__)


def queue_key(info: RunInfo) -> tuple[float, float, str]:
    status = info.status
    return (float(status.queue_order), float(status.queued_at or 0.0), info.run_id)


def chosen_need(store: RunStore, experiment: str, among: list[str] | None = None) -> Path | None:
    """The finished run of `experiment` that a dependent run consumes: its best by the
    experiment's metric, else its latest; `among` limits it to the runs waited for."""
    runs = [r for r in store.runs(experiment) if r.state == rd.SUCCEEDED
            and (among is None or r.run_id in among)]
    if not runs:
        return None
    return (best_run(runs) or runs[-1]).dir.path


class Scheduler:
    def __init__(self, runs_dir: Path, *, gpus: list[int] | None = None,
                 settings: QueueSettings | None = None) -> None:
        self.root = runs_dir
        self.store = RunStore(runs_dir)
        self._gpus = gpus
        self.settings = settings

    @property
    def gpus(self) -> list[int]:
        """The devices runs may be given, asked for when a run first wants one (nvidia-smi
        takes a while; a queue of CPU runs never waits for it)."""
        if self._gpus is None:
            self._gpus = gpu_indices()
        return self._gpus

    def tick(self) -> int:
        """Start whatever can start now; return how many runs are still queued."""
        settings = self.settings or QueueSettings.read(self.root)
        active = self.store.active()
        load: dict[int, int] = {}
        cpu_busy = 0
        for info in active:
            if info.state in (rd.STARTING, rd.RUNNING) and _backend(info).uses_local_slots:
                ids = info.status.gpu_ids or []
                for index in ids:
                    load[index] = load.get(index, 0) + 1
                cpu_busy += not ids
        queued = sorted((i for i in active if _to_start(i)), key=queue_key)
        waiting = 0
        for info in queued:
            ready = self._dependencies_ready(info)
            if ready is None:
                continue  # failed for its dependency
            if not ready:
                waiting += 1
                continue
            if not _backend(info).uses_local_slots:
                self._start(info, [])
                continue
            wanted = min(info.spec.gpus, len(self.gpus)) if info.spec.gpus else 0
            if wanted == 0:
                if cpu_busy >= settings.max_parallel:
                    waiting += 1
                    continue
                cpu_busy += 1
                self._start(info, [])
                continue
            free = sorted((g for g in self.gpus if load.get(g, 0) < settings.runs_per_gpu),
                          key=lambda g: (load.get(g, 0), g))
            if len(free) < wanted:
                waiting += 1
                continue
            chosen = free[:wanted]
            for index in chosen:
                load[index] = load.get(index, 0) + 1
            self._start(info, chosen)
        return waiting

    def _dependencies_ready(self, info: RunInfo) -> bool | None:
        for relative in info.status.waits_for:
            dep = rd.RunDir(self.root / relative)
            state = dep.status().state
            if state == rd.SUCCEEDED:
                continue
            if state in rd.FINAL_STATES or state == rd.DAMAGED:
                info.dir.end(rd.FAILED, error=f"needed run {relative} ended {state}")
                return None
            return False
        return True

    def _resolve_needs(self, info: RunInfo) -> dict[str, str]:
        # A requeued run resumes on the runs it started with, not on newer or better ones.
        needs: dict[str, str] = {name: path for name, path in
                                 (info.status.needs or {}).items()
                                 if name in info.spec.needs and Path(path).is_dir()}
        waited = [Path(p).name for p in info.status.waits_for]
        for name in info.spec.needs:
            if name in needs:
                continue
            path = chosen_need(self.store, name, [w for w in waited
                                                  if (self.root / name / w).exists()] or None)
            if path is not None:
                needs[name] = str(path)
        return needs

    def _start(self, info: RunInfo, gpu_ids: list[int]) -> None:
        run = info.dir
        if run.change_status_if((rd.QUEUED,), state=rd.STARTING, gpu_ids=gpu_ids,
                                needs=self._resolve_needs(info)) is None:
            return  # cancelled since we looked
        _backend(info).start(run)


def _backend(info: RunInfo) -> Backend:
    return get_backend(info.spec.backend)


def supervisor_lock(runs_dir: Path) -> AbstractContextManager[bool]:
    """Hold the one-supervisor-per-runs-directory lock; yields False if another has it."""
    return process_lock(runs_dir / LOCK_FILE)


def supervisor_pid(runs_dir: Path) -> int | None:
    """The pid of the live supervisor of `runs_dir`, None when there is none."""
    return lock_holder(runs_dir / LOCK_FILE)


def _to_start(info: RunInfo) -> bool:
    """Queued here, not a job already pending in a cluster's queue (also shown queued)."""
    if info.state != rd.QUEUED:
        return False
    try:
        return not _backend(info).pending_elsewhere(info.status)
    except UserError:
        return False  # a backend this version does not know: left as it is


def has_queued(store: RunStore) -> bool:
    return any(_to_start(info) for info in store.active())


# The supervisor this process started last, per runs directory: until it holds its lock,
# `supervisor_pid` cannot see it, and a second one started then would only exit again.
_started: dict[Path, int] = {}


def ensure_supervisor(runs_dir: Path) -> int | None:
    """Start a detached supervisor if runs are queued and none is running; its pid or None."""
    reap_children()
    pid = supervisor_pid(runs_dir)
    if pid is not None:
        return pid
    started = _started.get(runs_dir)
    if started is not None and is_alive(started):
        return started
    if not has_queued(RunStore(runs_dir)):
        return None
    pid = start_supervisor(runs_dir, runs_dir / SUPERVISOR_LOG)
    _started[runs_dir] = pid
    return pid
