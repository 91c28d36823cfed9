"""`python -m dltui.search.driver RUNS_DIR MANIFEST EXPERIMENT`: the detached process
that drives one study while its trials run as ordinary queued runs.

The queue stays the one scheduler: the driver asks Optuna for a trial, queues it as a
run (its number in status.json as `trial`), reports each value of the metric as it
reaches the run's metrics stream, stops a trial the pruner gives up on (the run ends
`pruned`), and tells Optuna how each run ended. One driver per study holds
`runs/.search/<experiment>.lock`; it exits when the study has its trials.

Everything it knows is on disk (the Optuna journal and the run directories), so a
killed driver loses nothing: the next `dltui run EXPERIMENT` starts another, which
queues a trial that was asked but never queued, follows the runs that are going,
and tells the ones that ended meanwhile. No trial is lost, repeated or told twice.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from dltui.errors import UserError
from dltui.manifest import Experiment, Manifest, load_manifest
from dltui.procs import lock_holder, process_lock
from dltui.queue.launch import git_state, make_spec
from dltui.queue.scheduler import ensure_supervisor
from dltui.search.study import distributions, open_study, optuna_module, study_dir
from dltui.snapshots.queueing import LaunchSnapshots
from dltui.store import rundir as rd
from dltui.store.active import ACTIVE_DIR, mark_active
from dltui.store.results import best_value
from dltui.store.runs import RunInfo, RunStore, load_run
from dltui.tracking.stream import MetricTail, is_finite
from dltui.watch import FolderWatch

# Runs cut short by the machine or a cluster are requeued in place this many times.
INTERRUPTED = frozenset({rd.LOST, rd.TIMEOUT, rd.PREEMPTED})
MAX_ATTEMPTS = 3
LOOK_GAP = 0.1  # the driver's looks are at least this far apart, however busy its trials
VOID = "dltui_never_queued"  # a user attr: asked when the driver died, so not a trial


def lock_path(runs_dir: Path, experiment: str) -> Path:
    return study_dir(runs_dir) / f"{experiment}.lock"


def log_path(runs_dir: Path, experiment: str) -> Path:
    return study_dir(runs_dir) / f"{experiment}.log"


def driver_lock(runs_dir: Path, experiment: str) -> AbstractContextManager[bool]:
    """Hold the one-driver-per-study lock; yields False when another driver has it."""
    return process_lock(lock_path(runs_dir, experiment))


def driver_pid(runs_dir: Path, experiment: str) -> int | None:
    """The pid of the live driver of the study, None when there is none."""
    return lock_holder(lock_path(runs_dir, experiment))


def start_study(*, manifest: Manifest, experiment: str, runs_dir: Path) -> int:
    """Start the study's detached driver unless one is running; the driver's pid."""
    exp = manifest.experiment(experiment)
    if exp.search is None:
        raise UserError(f"experiment {experiment!r} has no search",
                        fix=f"add search and space to [experiments.{experiment}], or "
                        f"`dltui run {experiment}` for its runs")
    optuna_module()  # a missing Optuna is one line here, not a dead detached process
    pid = driver_pid(runs_dir, experiment)
    if pid is not None:
        return pid
    log = log_path(runs_dir, experiment)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dltui.search.driver", str(runs_dir), str(manifest.path),
             experiment], stdin=subprocess.DEVNULL, stdout=out, stderr=out,
            start_new_session=True, close_fds=True)
    return proc.pid


def trial_runs(store: RunStore, experiment: str) -> dict[int, RunInfo]:
    """The runs of the study's trials, by trial number."""
    found: dict[int, RunInfo] = {}
    for info in store.runs(experiment):
        number = info.status.extra.get("trial")
        if isinstance(number, int) and info.status.extra.get("study") == experiment:
            found[number] = info
    return found


def _ended(path: Path) -> bool:
    info = load_run(path)
    return info is None or info.is_final


def pruned_pending(info: RunInfo) -> bool:
    """Pruned by the driver and not requeued by the user since."""
    pruned_at = info.status.extra.get("pruned_at")
    return pruned_at is not None and float(info.status.requeued_at or 0) < pruned_at


class StudyDriver:
    """One study's loop: `step()` as often as you like; True once the study is done."""

    def __init__(self, *, manifest: Manifest, experiment: str, runs_dir: Path,
                 stop_grace: float | None = None) -> None:
        self.manifest = manifest
        self.exp: Experiment = manifest.experiment(experiment)
        assert self.exp.search is not None
        self.search = self.exp.search
        self.metric = self.exp.metric or ""
        self.root = runs_dir
        self.optuna = optuna_module()
        self.state = self.optuna.trial.TrialState
        self.study = open_study(runs_dir, experiment, self.search, self.exp.mode)
        self.dists = distributions(self.search)
        self.store = RunStore(runs_dir)
        self.git = git_state(manifest.path.parent)
        self.tails: dict[str, MetricTail] = {}
        self.totals: dict[str, int] = {}  # run id -> the steps it says it will log
        self.reported: dict[int, set[int]] = {}
        self.stopping: dict[str, threading.Thread] = {}
        self.run_paths: dict[int, Path] = {n: i.dir.path for n, i in
                                           trial_runs(self.store, self.exp.name).items()}
        self.settled: set[int] = set()  # told, and their runs need nothing more
        self.started_at = time.time()
        self.halted = False  # a trial was stopped by hand: ask no more, leave when idle
        self.grace = manifest.settings.stop_grace if stop_grace is None else stop_grace

    def step(self) -> bool:
        trials = self.study.get_trials(deepcopy=False)
        unsettled = 0
        for trial in trials:
            if trial.number in self.settled:
                continue
            path = self.run_paths.get(trial.number)
            info = load_run(path) if path is not None else None
            if trial.state == self.state.RUNNING:
                if info is None and set(trial.params) != set(self.dists):
                    self._void(trial)  # the driver died inside ask(): it never was a trial
                elif info is None:
                    self._queue(trial.number, trial.params)  # asked, then the driver died
                else:
                    self._follow(trial, info)
            elif info is not None and pruned_pending(info) and not self._finish_pruning(info):
                unsettled += 1
            else:
                self.settled.add(trial.number)
        running = sum(t.state == self.state.RUNNING for t in trials)
        asked = sum(not t.user_attrs.get(VOID) for t in trials)
        if self.halted:
            going = [n for n, path in self.run_paths.items()
                     if n not in self.settled and not _ended(path)]
            return not going and not unsettled
        while asked < self.search.trials and running < self.search.parallel:
            trial = self.study.ask(fixed_distributions=self.dists)
            self._queue(trial.number, trial.params)
            asked += 1
            running += 1
        ensure_supervisor(self.root)  # a killed supervisor must not stall the study
        return asked >= self.search.trials and running == 0 and not unsettled

    def followed_folders(self) -> list[Path]:
        """The run directories of the trials not yet settled: where their metrics and
        endings appear."""
        return [path for number, path in self.run_paths.items() if number not in self.settled]

    def _void(self, trial: Any) -> None:
        handle = self.optuna.trial.Trial(self.study, trial._trial_id)
        handle.set_user_attr(VOID, True)
        self.study.tell(trial.number, state=self.state.FAIL, skip_if_finished=True)
        self.settled.add(trial.number)
        _say(f"trial {trial.number} was cut short while asked; it does not count")

    def _queue(self, number: int, trial_params: dict[str, Any]) -> rd.RunDir:
        params = {**self.exp.params, **trial_params}
        # The code as it is when the trial is queued (one copy per content: trials share it).
        spec = make_spec(self.manifest, self.exp, params, git=self.git,
                         snapshots=LaunchSnapshots(self.root, self.manifest))
        now = time.time()
        run = rd.create_run_dir(self.root, spec, state=rd.QUEUED, queued_at=now,
                                queue_order=now, waits_for=[], batch=f"study-{self.exp.name}",
                                trial=number, study=self.exp.name)
        mark_active(self.root, run.path)
        self.run_paths[number] = run.path
        _say(f"trial {number} queued as {run.experiment}/{run.run_id}: {trial_params}")
        return run

    def _follow(self, trial: Any, info: RunInfo) -> None:
        if pruned_pending(info):  # decided, then the driver died before telling
            self.study.tell(trial.number, state=self.state.PRUNED, skip_if_finished=True)
            self._finish_pruning(info)
            return
        reported = self.reported.setdefault(trial.number, set(trial.intermediate_values))
        fresh = self._report(trial, info, reported)
        if info.is_final:
            self._tell(trial, info)
        # FrozenTrial keeps its storage id in `_trial_id`, which Trial() needs.
        elif fresh and not self._at_last_step(info, reported) and self.optuna.trial.Trial(
                self.study, trial._trial_id).should_prune():
            info.dir.write_status(pruned_at=time.time(), pruned_step=max(reported))
            self.study.tell(trial.number, state=self.state.PRUNED, skip_if_finished=True)
            _say(f"trial {trial.number} pruned at step {max(reported)}")
            self._finish_pruning(info)

    def _at_last_step(self, info: RunInfo, reported: set[int]) -> bool:
        """Its last epoch is in: stopping it now would save nothing."""
        total = self.totals.get(info.run_id)
        return total is not None and max(reported) >= total

    def _report(self, trial: Any, info: RunInfo, reported: set[int]) -> bool:
        tail = self.tails.setdefault(info.run_id, MetricTail(info.dir.metrics_file))
        handle = None
        for index, record in enumerate(tail.read_new()):
            if is_finite(record.get("_total")):  # the run's own progress: `done` of `_total`
                self.totals[info.run_id] = int(record["_total"])
            value: Any = record.get(self.metric)
            if not is_finite(value):
                continue
            logged: Any = record.get("step")
            step = int(logged) if is_finite(logged) else len(reported) + index
            if step in reported:
                continue
            if handle is None:
                handle = self.optuna.trial.Trial(self.study, trial._trial_id)
            handle.report(float(value), step)
            reported.add(step)
        return handle is not None

    def _tell(self, trial: Any, info: RunInfo) -> None:
        state = info.state
        attempt = info.status.attempt
        if state in INTERRUPTED and attempt < MAX_ATTEMPTS:
            from dltui.queue.requeue import requeue

            _say(requeue(run=info.dir))
            return
        if state == rd.KILLED:  # stopped by hand (`dltui stop`): the study pauses there
            if float(info.status.ended_at or 0) < self.started_at:
                from dltui.queue.requeue import requeue

                _say(requeue(run=info.dir))  # stopped before this `dltui run`: go on
            elif not self.halted:
                self.halted = True
                _say(f"trial {trial.number} was stopped: the study pauses; `dltui run "
                     f"{self.exp.name}` continues it")
            return
        value = best_value(info) if state == rd.SUCCEEDED else None
        if value is not None:
            self.study.tell(trial.number, value, skip_if_finished=True)
        else:
            self.study.tell(trial.number, state=self.state.FAIL, skip_if_finished=True)
        self.tails.pop(info.run_id, None)
        _say(f"trial {trial.number} {state}: {self.metric} = {value}")

    def _finish_pruning(self, info: RunInfo) -> bool:
        """A pruned trial's run: stopped (in the background), then `pruned`; True once
        it has ended."""
        if info.state == rd.KILLED or (info.state == rd.FAILED and info.dir.stop_requested()):
            info.dir.change_status_if((rd.KILLED, rd.FAILED), state=rd.PRUNED, error=None)
            return True
        if info.is_final:
            return True  # it ended on its own first (succeeded, say): it stays so
        thread = self.stopping.get(info.run_id)
        if thread is None or not thread.is_alive():
            from dltui.queue.control import stop_runs

            thread = threading.Thread(target=stop_runs, args=([info],),
                                      kwargs={"grace": self.grace}, daemon=True)
            thread.start()
            self.stopping[info.run_id] = thread
        return False


def _say(text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {text}", flush=True)


def drive(*, runs_dir: Path, manifest_path: Path, experiment: str, poll: float = 0.5,
          safety_poll: float = 2.0) -> None:
    """Drive the study until it has its trials; returns at once if another driver has it.

    The driver looks again as soon as a trial it follows logs or ends, or a run is
    queued or requeued (the active-runs index), so the next trial is asked for and the
    pruner hears each value at once; `safety_poll` catches what no folder event tells
    (a change over NFS). Where folders cannot be watched it looks every `poll` s."""
    with driver_lock(runs_dir, experiment) as held:
        if not held:
            return
        driver = StudyDriver(manifest=load_manifest(manifest_path), experiment=experiment,
                             runs_dir=runs_dir)
        _say(f"study {experiment}: {driver.search.method}, {driver.search.trials} trials")
        folders = FolderWatch()
        try:
            while True:
                looked = time.monotonic()
                try:
                    if driver.step():
                        break
                except OSError as err:  # a full disk, a file another process holds: look again
                    _say(f"could not look at the study: {err}")
                folders.watch([runs_dir / ACTIVE_DIR, *driver.followed_folders()])
                # A trial printing many lines a second wakes the driver for each burst.
                folders.wait_apart(safety_poll if folders.active else poll, looked=looked,
                                   gap=LOOK_GAP)
        finally:
            folders.close()
        _say(f"study {experiment} done")


def main() -> None:
    if len(sys.argv) != 4:
        sys.exit("usage: python -m dltui.search.driver RUNS_DIR MANIFEST EXPERIMENT")
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # a closed terminal must not stop the study
    drive(runs_dir=Path(sys.argv[1]).resolve(), manifest_path=Path(sys.argv[2]),
          experiment=sys.argv[3])


if __name__ == "__main__":
    main()
