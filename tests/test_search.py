"""Search: a real Optuna study through the real queue, on a toy script whose score is a
known function of lr (best at lr = 0.01, falling with the square of the distance in
decades), plus the checks that refuse a bad search before anything is queued."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import signal
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Project, script, wait_for
from dltui.manifest import load_manifest
from dltui.search.plots import best_curve, scatter
from dltui.search.spaces import SpaceProblem, parse_search
from dltui.search.study import open_study
from dltui.store import rundir as rd

optuna = pytest.importorskip("optuna")


def toy_manifest(*, trials: int, parallel: int = 1, pruner: str = "median",
                 extra_params: str = "", low: float = 1e-4, delay: float = 0.4) -> str:
    # Epochs of `delay` s: long enough for the pruner, or a stop, to land mid-trial.
    search = (f'search = {{ method = "tpe", trials = {trials}, parallel = {parallel}, '
              f'pruner = "{pruner}", seed = 3, startup_trials = 3 }}')
    return f"""
[settings]
max_parallel = {parallel}
stop_grace = 2

[experiments.toy]
command = ["{sys.executable}", "{script('search_toy.py')}", "--lr={{lr}}"]
params = {{ epochs = 4, delay = {delay}{extra_params} }}
metric = "score"
mode = "max"
{search}
space = {{ lr = {{ log_uniform = [{low}, 1.0] }} }}
"""


def score(lr: float) -> float:
    return 1.0 - (math.log10(lr) + 2.0) ** 2 / 4.0


def trial_statuses(project: Project) -> dict[int, tuple[Path, dict[str, object]]]:
    found = {}
    for path in project.run_paths("toy"):
        status = project.status_of(path)
        assert isinstance(status.get("trial"), int), status
        assert status["trial"] not in found, f"trial {status['trial']} has two runs"
        found[int(status["trial"])] = (path, status)  # type: ignore[arg-type]
    return found


def study_of(project: Project):  # type: ignore[no-untyped-def]
    exp = load_manifest(project.manifest).experiment("toy")
    assert exp.search is not None
    return open_study(project.runs, "toy", exp.search, exp.mode)


def lr_of(path: Path) -> float:
    return float(json.loads((path / "run.json").read_text())["params"]["lr"])


def test_tpe_study_finds_the_best_region_and_prunes_the_bad_trials(project: Project) -> None:
    project.write(toy_manifest(trials=12))
    done = project.cli("run", "toy", timeout=240, check=True)
    assert "study toy done: 12 trials" in done.stdout
    runs = trial_statuses(project)
    assert sorted(runs) == list(range(12))
    study = study_of(project)
    trials = study.get_trials()
    assert [t.number for t in trials] == list(range(12))
    State = optuna.trial.TrialState
    # The {lr} placeholder carried the trial's own value to the script.
    for trial in trials:
        path, status = runs[trial.number]
        assert lr_of(path) == pytest.approx(trial.params["lr"])
        expected = rd.PRUNED if trial.state == State.PRUNED else rd.SUCCEEDED
        assert status["state"] == expected, (trial.number, status)
        if trial.state == State.COMPLETE:
            assert trial.value == pytest.approx(score(trial.params["lr"]))
    # With one trial at a time and curves that keep their order from step to step, the
    # median pruner stops a trial exactly when its score is below the median of the
    # trials completed before it (once 3 have completed).
    completed: list[float] = []
    predicted = []
    for trial in trials:
        mine = score(trial.params["lr"])
        if len(completed) >= 3 and mine < statistics.median(completed):
            predicted.append(trial.number)
        else:
            completed.append(mine)
    pruned = [t.number for t in trials if t.state == State.PRUNED]
    assert pruned == predicted and pruned, (pruned, predicted)
    assert sum(t.state == State.COMPLETE for t in trials) == 12 - len(pruned)
    # TPE's best lands within half a decade of the optimum.
    assert abs(math.log10(study.best_trial.params["lr"]) + 2.0) < 0.5

    shown = json.loads(project.cli("search", "toy", "--format", "json", check=True).stdout)
    assert shown["counts"] == {"pruned": len(pruned), "succeeded": 12 - len(pruned)}
    assert shown["best"]["number"] == study.best_trial.number
    assert shown["best"]["value"] == pytest.approx(study.best_value)
    text = project.cli("search", "toy", check=True).stdout
    assert f"best: trial {study.best_trial.number}" in text and "score against lr" in text
    md = project.cli("search", "toy", "--format", "md", check=True).stdout
    assert md.startswith("| Trial | State | lr | score | Best so far |")

    # A pruned trial continues with `dltui requeue`; the study is not counted again.
    again = runs[pruned[0]][0]
    project.cli("requeue", again.name, check=True)
    wait_for(lambda: project.status_of(again).get("state") == rd.SUCCEEDED, timeout=60,
             what="the requeued trial to finish")
    assert len(study_of(project).get_trials()) == 12
    assert study_of(project).trials[pruned[0]].state == State.PRUNED
    assert "study toy done: 12 trials" in project.cli("run", "toy", check=True).stdout
    shown_in_dashboard = asyncio.run(asyncio.wait_for(search_screen_text(project), 60))
    assert f"best: trial {study.best_trial.number}" in shown_in_dashboard
    assert "12/12 trials" in shown_in_dashboard and "score against lr" in shown_in_dashboard


async def search_screen_text(project: Project) -> str:
    """What the dashboard's Search screen (key 5) shows once it has read the study."""
    from dltui.tui.app import make_app
    from dltui.tui.screens.search import SearchScreen

    app = make_app(manifest=load_manifest(project.manifest), runs_dir=project.runs,
                   cursor_blink=False, query_gpus=lambda: [])
    async with app.run_test(size=(120, 60)) as pilot:
        await pilot.press("5")
        for _ in range(200):
            await pilot.pause(0.05)
            if isinstance(app.screen, SearchScreen):
                text = str(app.screen.query_one("#study").render())
                if "best: trial" in text:
                    return text
    raise AssertionError("the Search screen never showed the study")


def _driver_pid(project: Project) -> int | None:
    text = (project.runs / ".search" / "toy.lock").read_text().strip() if (
        project.runs / ".search" / "toy.lock").exists() else ""
    return int(text) if text.isdigit() else None


def _supervisor_pid(project: Project) -> int | None:
    path = project.runs / ".supervisor.lock"
    text = path.read_text().strip() if path.exists() else ""
    return int(text) if text.isdigit() else None


def _ended(project: Project) -> int:
    return sum(project.status_of(p).get("state") in rd.FINAL_STATES
               for p in project.run_paths("toy"))


def test_killed_supervisor_and_driver_lose_no_trial_and_count_none_twice(
        project: Project) -> None:
    trials = 8
    # Trials above lr 0.1 fail: they count as failed trials and the study goes on.
    project.write(toy_manifest(trials=trials, parallel=2, pruner="none",
                               extra_params=", fail_above = 0.1", low=1e-3))
    project.cli("run", "toy", "--detach", check=True)
    wait_for(lambda: _ended(project) >= 2, timeout=60, what="two trials to end")
    supervisor = _supervisor_pid(project)
    assert supervisor
    with contextlib.suppress(ProcessLookupError):  # it may have ended between two trials
        os.kill(supervisor, signal.SIGKILL)
    wait_for(lambda: _ended(project) >= 4, timeout=60,
             what="trials to go on after the supervisor was killed")
    driver = _driver_pid(project)
    assert driver
    os.kill(driver, signal.SIGKILL)
    asked_before = len(study_of(project).get_trials())
    assert asked_before < trials, "the study ended before the driver could be killed"
    done = project.cli("run", "toy", timeout=240, check=True)
    assert f"study toy done: {trials} trials" in done.stdout
    runs = trial_statuses(project)
    assert sorted(runs) == list(range(trials))
    study = study_of(project).get_trials()
    assert [t.number for t in study] == list(range(trials))
    State = optuna.trial.TrialState
    for trial in study:
        path, status = runs[trial.number]
        assert lr_of(path) == pytest.approx(trial.params["lr"])
        if trial.params["lr"] > 0.1:
            assert (trial.state, status["state"]) == (State.FAIL, rd.FAILED)
        else:
            assert (trial.state, status["state"]) == (State.COMPLETE, rd.SUCCEEDED)
            assert trial.value == pytest.approx(score(trial.params["lr"]))


@pytest.mark.parametrize(("body", "problem"), [
    ('search = { trials = 3 }\nspace = { lr = { log_uniform = [] } }',
     "log_uniform needs bounds [low, high]"),
    ('search = { trials = 3 }\nspace = { lr = {} }', "space.lr must name one of"),
    ('search = { trials = 3 }\nspace = { lr = 0.1 }', "space.lr must name one of"),
    ('search = { trials = 3 }\nspace = { lr = { log_uniform = [0, 0.3] } }',
     "log_uniform bounds must be > 0"),
    ('search = { trials = 3 }\nspace = { lr = { uniform = [0.3, 0.1] } }',
     "low 0.3 is not below high 0.1"),
    ('search = { trials = 3 }', "search has no space"),
    ('space = { lr = { uniform = [0.1, 0.3] } }', "a space with no search"),
    ('search = { method = "grid" }\nspace = { lr = { uniform = [0.1, 0.3] } }',
     "a grid search cannot enumerate space.lr"),
    ('search = { method = "bayes" }\nspace = { lr = { uniform = [0.1, 0.3] } }',
     "search.method 'bayes' is not known"),
    ('search = { trials = 3 }\nspace = { lr = { uniform = [0.1, 0.3] } }\n'
     'sweep = { lr = [0.1, 0.2] }', "'lr' is both searched and swept"),
    ('seeds = 0', "seeds must be an integer >= 1"),
])
def test_a_bad_search_exits_2_with_the_fix_before_anything_is_queued(
        project: Project, body: str, problem: str) -> None:
    metric = "" if "no_metric" in body else 'metric = "score"\nmode = "max"\n'
    project.write(f'[experiments.toy]\ncommand = ["true", "{{lr}}"]\nparams = {{ lr = 0.1 }}\n'
                  f'{metric}{body}\n')
    done = project.cli("run", "toy")
    assert done.returncode == 2, done.stderr
    assert problem in done.stderr and "fix:" in done.stderr
    assert "Traceback" not in done.stderr
    assert not project.runs.exists() or not any(project.runs.rglob("run.json"))


def test_a_search_refuses_set_and_seeds(project: Project) -> None:
    project.write(toy_manifest(trials=2))
    for flags in (["--set", "epochs=2"], ["--seeds", "2"]):
        done = project.cli("run", "toy", *flags)
        assert done.returncode == 2 and "is a search" in done.stderr, done.stderr
    assert not project.runs.joinpath("toy").exists()


def test_a_pruner_without_a_metric_is_refused(project: Project) -> None:
    project.write('[experiments.toy]\ncommand = ["true"]\n'
                  'search = { trials = 3, pruner = "median" }\n'
                  'space = { lr = { uniform = [0.1, 0.3] } }\n')
    done = project.cli("run", "toy")
    assert done.returncode == 2
    assert "a search needs the metric it optimises (and pruner 'median' reads it)" in done.stderr
    assert 'add metric = "val_acc"' in done.stderr
    assert not project.runs.exists()


def test_grid_search_takes_its_size_and_the_space_kinds_parse() -> None:
    spec = parse_search({"method": "grid"},
                        {"batch_size": {"choice": [8, 32, 64]}, "layers": {"int": [1, 3]}},
                        metric="val_acc")
    assert (spec.trials, spec.grid_size()) == (9, 9)
    assert spec.space["layers"].grid_values() == [1, 2, 3]
    with pytest.raises(SpaceProblem, match="int bounds must be integers"):
        parse_search({}, {"layers": {"int": [1, 2.5]}}, metric="val_acc")


def test_the_text_plots_put_the_points_where_they_belong() -> None:
    curve = best_curve([(0, 0.5), (1, 0.7), (3, 0.9)], width=7, height=3).splitlines()
    assert curve[0] == "0.9 │      ●"
    assert curve[1] == "    │  ●───"  # x = 1 of 0..3 is column 2 of 0..6
    assert curve[2] == "0.5 │●─"
    dots = scatter([(1e-4, 0.0), (1e-2, 1.0), (1.0, 0.0)], width=5, height=2,
                   log_x=True).splitlines()
    assert dots[0] == "1 │  •"  # the middle decade sits in the middle column
    assert dots[1] == "0 │•   •"


def test_a_grid_search_with_asha_runs_each_point_once(project: Project) -> None:
    project.write(f"""
[settings]
max_parallel = 2

[experiments.toy]
command = ["{sys.executable}", "{script('search_toy.py')}", "--lr={{lr}}"]
params = {{ epochs = 3, delay = 0.05 }}
metric = "score"
mode = "max"
search = {{ method = "grid", parallel = 2, pruner = "asha" }}
space = {{ lr = {{ choice = [0.001, 0.01, 0.1] }} }}
""")
    done = project.cli("run", "toy", timeout=120, check=True)
    assert "study toy done: 3 trials" in done.stdout
    lrs = sorted(lr_of(path) for path, _ in trial_statuses(project).values())
    assert lrs == [0.001, 0.01, 0.1]
    best = json.loads(project.cli("search", "toy", "-f", "json", check=True).stdout)["best"]
    assert best["params"] == {"lr": 0.01}


def test_without_optuna_a_search_is_one_line_and_exit_2(project: Project) -> None:
    project.write(toy_manifest(trials=2))
    code = ("import sys; sys.modules['optuna'] = None\n"
            "from dltui.tui.cli import main\n"
            "sys.argv = ['dltui', 'run', 'toy']\nmain()\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=project.root, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: a search needs Optuna, which is not installed",
        "  fix: pip install 'dltui[search]' (or pip install optuna)"]
    assert not project.runs.joinpath("toy").exists()


def test_a_trial_stopped_by_hand_pauses_the_study_and_run_continues_it(
        project: Project) -> None:
    project.write(toy_manifest(trials=3, pruner="none"))
    project.cli("run", "toy", "--detach", check=True)
    first = wait_for(lambda: [p for p in project.run_paths("toy")
                              if project.status_of(p).get("state") == rd.RUNNING],
                     timeout=60, what="the first trial to run")[0]  # type: ignore[index]
    project.cli("stop", first.name, check=True)
    wait_for(lambda: _driver_pid(project) is None or not _alive(_driver_pid(project)),
             timeout=30, what="the driver to pause")
    assert project.status_of(first)["state"] == rd.KILLED
    assert [t.state.name for t in study_of(project).get_trials()] == ["RUNNING"]
    done = project.cli("run", "toy", timeout=120, check=True)
    assert "study toy done: 3 trials" in done.stdout
    status = project.status_of(first)
    assert (status["state"], status["attempt"], status["trial"]) == (rd.SUCCEEDED, 2, 0)
    assert sorted(trial_statuses(project)) == [0, 1, 2]


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("method", ["tpe", "random", "grid"])
@pytest.mark.parametrize("pruner", ["none", "median", "asha", "hyperband"])
def test_every_method_and_pruner_makes_a_study_on_the_journal(tmp_path: Path, method: str,
                                                              pruner: str) -> None:
    from dltui.search.study import distributions, journal_path

    search = parse_search({"method": method, "pruner": pruner, "trials": 4, "seed": 1},
                          {"lr": {"choice": [0.001, 0.01, 0.1]}, "layers": {"int": [1, 2]}},
                          metric="score")
    study = open_study(tmp_path, "toy", search, "max")
    for _ in range(search.trials):
        trial = study.ask(fixed_distributions=distributions(search))
        assert trial.params["lr"] in (0.001, 0.01, 0.1) and trial.params["layers"] in (1, 2)
        for step in (1, 2):
            trial.report(score(trial.params["lr"]) * step / 2, step)
            trial.should_prune()
        study.tell(trial, score(trial.params["lr"]))
    again = open_study(tmp_path, "toy", search, "max")  # another process would see this
    assert len(again.trials) == 4 and journal_path(tmp_path, "toy").is_file()
    if method == "grid":  # four distinct points of the six
        assert len({tuple(sorted(t.params.items())) for t in again.trials}) == 4


def test_a_trial_cut_short_inside_ask_does_not_count(project: Project) -> None:
    project.write(toy_manifest(trials=2, pruner="none", delay=0.05))
    study_of(project).ask()  # a trial with no params yet: what a driver killed in ask() leaves
    done = project.cli("run", "toy", timeout=120, check=True)
    assert "study toy done: 2 trials" in done.stdout
    trials = study_of(project).get_trials()
    assert [(t.number, t.state.name) for t in trials] == [(0, "FAIL"), (1, "COMPLETE"),
                                                          (2, "COMPLETE")]
    assert trials[0].user_attrs == {"dltui_never_queued": True}
    assert sorted(trial_statuses(project)) == [1, 2]
