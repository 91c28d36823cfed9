"""A study as its trial runs show it: rows, best so far, counts (no Optuna needed).

Each trial is an ordinary run whose status.json carries `trial` and `study`, so the
CLI and the dashboard read a study as they read any runs, live ones included.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from dltui.manifest import Experiment
from dltui.search.driver import driver_pid, pruned_pending, trial_runs
from dltui.search.plots import best_curve, scatter
from dltui.store import rundir as rd
from dltui.store.results import best_value
from dltui.store.runs import RunInfo, RunStore
from dltui.tracking.stream import is_finite
from dltui.views.numbers import format_value


@dataclass
class TrialRow:
    number: int
    run: str  # experiment/run-id
    state: str
    params: dict[str, Any]
    value: float | None  # the run's best value of the metric (so far, while it runs)
    best_so_far: float | None = None
    step: int | None = None  # the last step it logged


@dataclass
class StudyView:
    experiment: str
    metric: str
    mode: str
    method: str
    pruner: str
    trials_wanted: int
    trials: list[TrialRow] = field(default_factory=list)
    driver_pid: int | None = None

    @property
    def best(self) -> TrialRow | None:
        done = [t for t in self.trials if t.state == rd.SUCCEEDED and is_finite(t.value)]
        if not done:
            return None
        pick = max if self.mode == "max" else min
        return pick(done, key=lambda t: float(t.value))  # type: ignore[arg-type]

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for trial in self.trials:
            found[trial.state] = found.get(trial.state, 0) + 1
        return found

    @property
    def done(self) -> bool:
        return (len(self.trials) >= self.trials_wanted
                and all(t.state in rd.FINAL_STATES for t in self.trials))


def _row(number: int, info: RunInfo, metric: str, keys: list[str]) -> TrialRow:
    value = best_value(info, metric)
    state = info.state
    if state == rd.KILLED and pruned_pending(info):
        state = rd.PRUNED  # stopped for the pruner; the driver is about to record it so
    return TrialRow(number=number, run=info.ref, state=state,
                    params={k: info.spec.params.get(k) for k in keys},
                    value=value, step=None if info.status.last_step is None
                    else int(info.status.last_step))


def study_view(*, store: RunStore, experiment: Experiment) -> StudyView:
    """The study of a search experiment as its runs stand now."""
    search = experiment.search
    assert search is not None
    keys = list(search.space)
    view = StudyView(experiment=experiment.name, metric=experiment.metric or "",
                     mode=experiment.mode, method=search.method, pruner=search.pruner,
                     trials_wanted=search.trials,
                     driver_pid=driver_pid(store.root, experiment.name))
    runs = trial_runs(store, experiment.name)
    best: float | None = None
    for number in sorted(runs):
        row = _row(number, runs[number], view.metric, keys)
        if row.state == rd.SUCCEEDED and row.value is not None and (
                best is None or (row.value > best if view.mode == "max" else row.value < best)):
            best = row.value
        row.best_so_far = best
        view.trials.append(row)
    return view


def _is_log(experiment: Experiment, key: str) -> bool:
    assert experiment.search is not None
    return experiment.search.space[key].log


def study_text(view: StudyView, experiment: Experiment, *, width: int = 60) -> str:
    """The study as the CLI prints it: trials, best, a best-so-far curve, scatters."""
    keys = list(experiment.search.space) if experiment.search else []
    headers = ["trial", "state", *keys, view.metric, "best so far", "run"]
    lines = [[str(t.number), t.state, *(format_value(t.params.get(k)) for k in keys),
              format_value(t.value), format_value(t.best_so_far), t.run] for t in view.trials]
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h)
              for i, h in enumerate(headers)]
    table = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in [headers, *lines]]
    out = [_headline(view), "", *table, ""]
    best = view.best
    if best is not None:
        params = ", ".join(f"{k}={format_value(v)}" for k, v in best.params.items())
        out.append(f"best: trial {best.number}, {view.metric} = {format_value(best.value)} "
                   f"({params}), run {best.run}")
        out += ["", f"best {view.metric} so far, by trial:",
                best_curve([(t.number, t.best_so_far) for t in view.trials
                            if t.best_so_far is not None], width=width)]
        for key in keys:
            points = [(t.params[key], t.value) for t in view.trials
                      if is_finite(t.params.get(key)) and t.value is not None]
            if len(points) >= 2:
                out += ["", f"{view.metric} against {key}" + (" (log scale)" if _is_log(
                    experiment, key) else "") + ":",
                        scatter(points, width=width, log_x=_is_log(experiment, key))]
    return "\n".join(out).rstrip() + "\n"


def _headline(view: StudyView) -> str:
    counts = ", ".join(f"{n} {state}" for state, n in sorted(view.counts().items()))
    where = ("done" if view.done else f"driver pid {view.driver_pid}" if view.driver_pid
             else "not running (`dltui run " + view.experiment + "` continues it)")
    return (f"study {view.experiment}: {view.method}, pruner {view.pruner}, "
            f"{len(view.trials)}/{view.trials_wanted} trials ({counts or 'none yet'}); "
            f"{view.mode} {view.metric}; {where}")


def study_markdown(view: StudyView, experiment: Experiment) -> str:
    keys = list(experiment.search.space) if experiment.search else []
    headers = ["Trial", "State", *keys, view.metric, "Best so far"]
    lines = ["| " + " | ".join(headers) + " |",
             "| " + " | ".join(["---:", "---", *("---:" for _ in keys), "---:", "---:"]) + " |"]
    for t in view.trials:
        lines.append("| " + " | ".join([str(t.number), t.state,
                                        *(format_value(t.params.get(k)) for k in keys),
                                        format_value(t.value), format_value(t.best_so_far)])
                     + " |")
    best = view.best
    if best is not None:
        params = ", ".join(f"{k} = {format_value(v)}" for k, v in best.params.items())
        lines += ["", f"Best: trial {best.number}, {view.metric} = {format_value(best.value)} "
                  f"({params})."]
    return "\n".join(lines) + "\n"


def study_json(view: StudyView) -> str:
    data = asdict(view)
    best = view.best
    data["best"] = asdict(best) if best else None
    data["counts"] = view.counts()
    data["done"] = view.done
    return json.dumps(data, indent=1, default=_plain)


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)
