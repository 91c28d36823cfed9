"""More of the CLI as a user meets it: TensorBoard, Ctrl-C, git state, listings as JSON."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from conftest import Project, script, wait_for

PY = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def manifest(tmp: Path) -> str:
    return f"""
[experiments.printed]
command = ["{PY}", "{script('prints.py')}", "{{lr}}", "3", "0.01"]
params = {{ lr = 0.5 }}
metric = "acc"
mode = "max"
group = "g"
tags = ["t1"]

[experiments.sleep]
command = ["{PY}", "{script('sleeper.py')}", "{tmp}/pid"]
"""


def test_tensorboard_serves_the_runs(project: Project, tmp_path: Path) -> None:
    project.write(manifest(tmp_path))
    project.cli("run", "printed", check=True)
    port = free_port()
    server = subprocess.Popen([PY, "-m", "dltui.tui.program", "tb", "printed", "--port", str(port)],
                              cwd=project.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=project.env())
    try:
        def tags() -> object:
            try:
                with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/data/plugin/scalars/tags", timeout=2) as page:
                    return json.loads(page.read())
            except OSError:
                return None
        found = wait_for(tags, timeout=60, poll=0.5, what="TensorBoard to serve")
        (name,) = found  # type: ignore[misc]
        assert name.startswith("printed/")
        assert set(found[name]) == {"loss", "acc"}  # type: ignore[index]
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_ctrl_c_stops_the_foreground_runs(project: Project, tmp_path: Path) -> None:
    project.write(manifest(tmp_path))
    follower = subprocess.Popen([PY, "-m", "dltui.tui.program", "run", "sleep"], cwd=project.root,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=project.env())
    wait_for(lambda: (tmp_path / "pid").exists(), what="the run to start")
    follower.send_signal(signal.SIGINT)
    out, _ = follower.communicate(timeout=30)
    assert follower.returncode == 1
    assert "stopping runs" in out and ": killed" in out
    (path,) = project.run_paths("sleep")
    assert project.status_of(path)["state"] == "killed"


def test_git_state_and_json_listings(project: Project, tmp_path: Path) -> None:
    project.write(manifest(tmp_path))
    git = ["git", "-c", "user.email=a@b", "-c", "user.name=a"]
    subprocess.run([*git, "init", "-q"], cwd=project.root, check=True)
    subprocess.run([*git, "add", "experiments.toml"], cwd=project.root, check=True)
    subprocess.run([*git, "commit", "-qm", "x"], cwd=project.root, check=True)
    project.cli("run", "printed", check=True)
    (path,) = project.run_paths("printed")
    spec = json.loads((path / "run.json").read_text())
    assert len(spec["git_commit"]) == 40 and spec["git_dirty"] is False
    rows = json.loads(project.invoke("list", "--format", "json", check=True).stdout)
    printed = next(r for r in rows if r["name"] == "printed")
    assert printed["latest_state"] == "succeeded" and printed["best"] == 0.65
    assert printed["group"] == "g" and printed["tags"] == ["t1"]
    (row,) = project.ps_json("--all")
    assert row["state"] == "succeeded" and row["latest"]["acc"] == 0.65
    # Selections by group and tag reach the same run.
    for selection in ("g", "tag:t1", "printed", f"printed/{path.name}"):
        table = json.loads(project.invoke("compare", selection, "--format", "json",
                                       check=True).stdout)
        assert [r["run"] for r in table] == [path.name]


def test_runs_started_by_hand_rank_by_the_manifests_metric(project: Project) -> None:
    """A hand-started run knows no metric; its experiment in the manifest says which."""
    for run_id, lr, acc in (("r1", 0.1, 0.5), ("r2", 0.01, 0.9), ("r3", 0.001, 0.2)):
        project.finished_run("byhand", run_id, {"lr": lr}, acc=acc)
    project.write('[experiments.byhand]\ncommand = ["python", "x.py"]\nmetric = "acc"\n'
                  'mode = "max"\n')
    table = json.loads(project.invoke("compare", "byhand", "--format", "json",
                                   check=True).stdout)
    assert [row["param:lr"] for row in table] == [0.01, 0.1, 0.001]


def test_compare_says_when_it_keeps_the_latest_per_param_set(project: Project) -> None:
    """A sweep run twice compares once, and the CLI says how many runs it left out."""
    for run_id, lr in (("r1", 0.1), ("r2", 0.1), ("r3", 0.01)):
        project.finished_run("twice", run_id, {"lr": lr}, acc=lr)
    project.write('[experiments.twice]\ncommand = ["python", "x.py"]\nmetric = "acc"\n')
    done = project.invoke("compare", "twice", "--format", "json", check=True)
    assert sorted(row["run"] for row in json.loads(done.stdout)) == ["r2", "r3"]
    assert "latest per param set: 2 of 3, --all-runs shows all" in done.stderr
    every = project.invoke("compare", "twice", "--all-runs", "--format", "json", check=True)
    assert len(json.loads(every.stdout)) == 3 and "latest per param set" not in every.stderr


def test_compare_json_is_valid_with_non_finite_values_and_seed_means(project: Project) -> None:
    """JSON has no NaN: a diverged run's values are null, a mean over seeds an object."""
    runs = (("seeded", "r1", 0.1, 0, float("nan")), ("seeded", "r2", 0.1, 1, 0.5),
            ("seeded", "r3", 0.01, 0, 0.25), ("seeded", "r4", 0.01, 1, 0.75),
            ("plain", "p1", 0.1, None, float("nan")), ("plain", "p2", 0.2, None, float("-inf")),
            ("plain", "p3", 0.3, None, 0.5))
    for experiment, run_id, lr, seed, loss in runs:
        params = {"lr": lr} if seed is None else {"lr": lr, "seed": seed}
        project.finished_run(experiment, run_id, params, loss=loss)
    project.write('[experiments.seeded]\ncommand = ["python", "x.py"]\nmetric = "loss"\n'
                  '[experiments.plain]\ncommand = ["python", "x.py"]\nmetric = "loss"\n')
    for name, means in (("seeded", True), ("plain", False)):
        out = project.invoke("compare", name, "--format", "json", check=True).stdout
        assert "NaN" not in out and "Infinity" not in out
        table = json.loads(out)
        assert len(out.splitlines()) == len(table) + 2  # a row a line, between brackets
        losses = {row["param:lr"]: row["last:loss"] for row in table}
        if means:  # the non-finite value is left out of its configuration's mean
            assert losses == {0.01: {"mean": 0.5, "std": losses[0.01]["std"], "n": 2},
                              0.1: {"mean": 0.5, "std": 0.0, "n": 1}}
        else:
            assert losses == {0.1: None, 0.2: None, 0.3: 0.5}
