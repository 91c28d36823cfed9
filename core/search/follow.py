"""`dltui run SEARCH` without --detach: a line per trial as it ends, until the study is done.

Following is only reading: Ctrl-C (or a closed terminal) leaves the study going. It
looks again when the study's folder changes (the driver tells Optuna of a trial, logs,
or lets go of its lock as it exits) or a run is queued, and at least every `poll`.
"""

from __future__ import annotations

import time
from typing import TextIO

from dltui.manifest import Experiment
from dltui.search.study import study_dir
from dltui.search.view import StudyView, TrialRow, study_view
from dltui.store import rundir as rd
from dltui.store.active import ACTIVE_DIR
from dltui.store.runs import RunStore
from dltui.views.numbers import format_value
from dltui.watch import FolderWatch


def trial_line(trial: TrialRow, view: StudyView) -> str:
    params = " ".join(f"{k}={format_value(v)}" for k, v in trial.params.items())
    value = format_value(trial.value)
    best = format_value(trial.best_so_far)
    return (f"trial {trial.number:>3} {trial.state:9} {params}  {view.metric}={value}  "
            f"best={best}  {trial.run}")


def follow_study(*, store: RunStore, experiment: Experiment, out: TextIO,
                 poll: float = 1.0, driver_grace: float = 10.0) -> int:
    """Print trials as they end until the study is done; 0 when it is, 1 when its driver
    stopped before (the next `dltui run` continues it)."""
    seen: set[int] = set()
    gone_since: float | None = None
    folders = FolderWatch()
    folders.watch([study_dir(store.root), store.root / ACTIVE_DIR])
    try:
        while True:
            view = study_view(store=store, experiment=experiment)
            for trial in view.trials:
                if trial.number not in seen and trial.state in rd.FINAL_STATES:
                    seen.add(trial.number)
                    out.write(trial_line(trial, view) + "\n")
                    out.flush()
            if view.done and view.driver_pid is None:
                best = view.best
                out.write(f"study {view.experiment} done: {len(view.trials)} trials" + (
                    f"; best trial {best.number}, {view.metric} = {format_value(best.value)}"
                    if best else "") + f"\nsee `dltui search {view.experiment}`\n")
                return 0
            if view.driver_pid is None:
                # The driver writes its lock a moment after it starts; a lasting absence
                # means it died (killed, the machine restarted).
                gone_since = gone_since or time.monotonic()
                if time.monotonic() - gone_since > driver_grace:
                    stopped = [t.number for t in view.trials if t.state == rd.KILLED]
                    why = (f"paused: trial {stopped[0]} was stopped" if stopped
                           else "stopped before it was done")
                    out.write(f"study {view.experiment} {why}; `dltui run "
                              f"{view.experiment}` continues it\n")
                    return 1
            else:
                gone_since = None
            folders.wait(poll)  # a change wakes it, the driver's exit included
    except KeyboardInterrupt:
        out.write(f"\nstopped following; the study goes on (`dltui search "
                  f"{experiment.name}`)\n")
        return 0
    finally:
        folders.close()
