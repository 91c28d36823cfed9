"""reproduce, diff, tag, note, rm and gc end to end: through the real CLI, and through
the dashboard's keys with Pilot."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_tui_pilot import Project as PilotProject
from test_tui_pilot import (
    answer,
    drive,
    keys_of,
    notes,
    open_only_run,
    open_runs,
    table,
    type_text,
    until,
)
from textual.pilot import Pilot

from conftest import Project, wait_for
from dltui.queue.control import stop_runs
from dltui.store.annotations import read_annotations, runs_tagged
from dltui.store.disk import human_bytes
from dltui.store.runs import RunStore
from dltui.tui.app import DltuiApp
from dltui.tui.run_actions import TextView
from dltui.tui.screens.confirm import ConfirmDialog

PY = sys.executable

TRAIN = """import sys
import torch

LR = 0.1
torch.manual_seed(int(sys.argv[1]))
x = torch.randn(64, 3)
y = x @ torch.tensor([1.0, -2.0, 0.5])
model = torch.nn.Linear(3, 1)
opt = torch.optim.SGD(model.parameters(), lr=LR)
for epoch in range(1, 4):
    loss = torch.nn.functional.mse_loss(model(x).squeeze(1), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(f"epoch {epoch} loss={loss.item():.8f}")
"""

MANIFEST = f"""
[experiments.train]
command = ["{PY}", "train.py", "{{seed}}"]
params = {{ seed = 0 }}
metric = "loss"

[experiments.waiter]
command = ["{PY}", "-c", "import os,time\\nwhile not os.path.exists('release'): time.sleep(0.05)"]

[experiments.user]
command = ["{PY}", "-c", "print('used', '{{needs.train}}')"]
needs = ["train"]
"""


def setup(project: Project) -> None:
    project.write(MANIFEST)
    (project.root / "train.py").write_text(TRAIN)


def losses(path: Path) -> list[float]:
    return [r["loss"] for r in map(json.loads, (path / "metrics.jsonl").read_text().splitlines())
            if "loss" in r]


def test_reproduce_runs_the_snapshot_with_the_same_metrics_and_diff_shows_the_edit(
        project: Project) -> None:
    setup(project)
    project.cli("run", "train", check=True)
    (first,) = project.run_paths("train")
    (project.root / "train.py").write_text(TRAIN.replace("LR = 0.1", "LR = 0.05"))
    project.cli("run", "train", check=True)  # the edited code
    done = project.cli("reproduce", first.name, check=True)
    assert f"reproduces train/{first.name}" in done.stdout
    first_, edited, again = project.run_paths("train")
    assert first_ == first
    assert losses(again) == losses(first) and len(losses(first)) == 3
    assert losses(edited) != losses(first)
    spec = json.loads((again / "run.json").read_text())
    assert spec["reproduces"] == f"train/{first.name}"
    assert spec["snapshot"] == json.loads((first / "run.json").read_text())["snapshot"]

    shown = project.cli("diff", first.name, edited.name, check=True).stdout
    assert "changed: train.py" in shown
    assert "-LR = 0.1\n+LR = 0.05\n" in shown and "--- a/train.py" in shown
    assert "params:\n  the same" in shown
    assert "loss: " in shown.split("final metrics:")[1].split("code:")[0]
    same = project.cli("diff", first.name, again.name, check=True).stdout
    assert "the same snapshot" in same and "final metrics:\n  the same" in same
    as_json = json.loads(project.cli("diff", first.name, edited.name, "--format", "json",
                                     check=True).stdout)
    assert as_json["code"]["files"] == {"train.py": "changed"}
    assert as_json["environment"]["packages"] == {}

    shutil.rmtree(project.runs / ".snapshots" / spec["snapshot"])
    gone = project.cli("reproduce", first.name)
    assert gone.returncode == 2 and f"snapshot {spec['snapshot']} of train/{first.name} is gone" \
        in gone.stderr and "Traceback" not in gone.stderr


def test_tags_and_notes_are_shown_and_filter_ps(project: Project) -> None:
    setup(project)
    project.cli("run", "train", "--set", "seed=1,2", check=True)
    one, two = project.run_paths("train")
    done = project.cli("tag", one.name, two.name, "+baseline", "+smoke", check=True)
    assert done.stdout.count("#baseline #smoke") == 2
    project.cli("tag", two.name, "-smoke", check=True)
    project.cli("note", one.name, "diverged after epoch 2; lr too high", check=True)
    run_json = (one / "run.json").read_text()
    table = project.cli("ps", "--all", check=True).stdout
    assert "#baseline #smoke diverged after epoch 2" in table
    assert "DISK" in table and "disk: train " in table and "disk: code snapshots" in table
    assert json.loads(run_json)["tags"] == []  # run.json is written once
    smoke = project.ps_json("--all", "--tag", "smoke")
    assert [r["run"] for r in smoke] == [one.name]
    noted = project.ps_json("--all", "--note", "DIVERGED")
    assert [r["run"] for r in noted] == [one.name] and noted[0]["note"].startswith("diverged")
    rows = {r["run"]: r for r in project.ps_json("--all")}
    assert rows[two.name]["tags"] == ["baseline"]
    store = RunStore(project.runs)
    assert [i.run_id for i in runs_tagged(store, "baseline")] == [one.name, two.name]
    assert [i.run_id for i in runs_tagged(store, "smoke")] == [one.name]
    size = sum(f.stat().st_size for f in one.rglob("*") if f.is_file())
    assert rows[one.name]["disk"] == size
    bad = project.cli("tag", one.name, "+two words")
    assert bad.returncode == 2 and "is not a tag" in bad.stderr
    nothing = project.cli("tag", one.name)
    assert nothing.returncode == 2 and "nothing to tag" in nothing.stderr


def test_rm_refuses_active_needed_and_missing_runs_then_gc_frees_the_space(
        project: Project) -> None:
    setup(project)
    project.cli("run", "user", check=True)  # runs train first, then user on it
    (trained,) = project.run_paths("train")
    (user,) = project.run_paths("user")
    (project.root / "train.py").write_text(TRAIN.replace("LR = 0.1", "LR = 0.2"))
    project.cli("run", "waiter", "--detach", check=True)
    (waiting,) = project.run_paths("waiter")
    wait_for(lambda: project.status_of(waiting).get("state") == "running", what="waiter runs")

    active = project.cli("rm", waiting.name)
    assert active.returncode == 2 and "an active run is not removed" in active.stderr
    assert "fix: stop it first" in active.stderr and "Traceback" not in active.stderr
    needed = project.cli("rm", trained.name)
    assert needed.returncode == 2 and f"needed by user/{user.name}" in needed.stderr
    missing = project.cli("rm", "nosuchrun")
    assert missing.returncode == 2 and "no run matches" in missing.stderr
    assert trained.is_dir() and user.is_dir()

    (project.root / "release").write_text("go")
    wait_for(lambda: project.status_of(waiting).get("state") == "succeeded", what="waiter ends")
    sizes = {p.name: sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
             for p in (trained, user)}
    done = project.cli("rm", trained.name, user.name, check=True)
    for path in (trained, user):
        assert f"/{path.name} ({human_bytes(sizes[path.name])}) to " in done.stdout
    assert f"2 runs, {human_bytes(sum(sizes.values()))} in the trash" in done.stdout
    assert (project.runs / ".trash" / "train" / trained.name / "run.json").is_file()
    listed = [r["run"] for r in project.ps_json("--all")]
    assert listed == [waiting.name]

    snapshot = json.loads((project.runs / ".trash" / "train" / trained.name / "run.json")
                          .read_text())["snapshot"]
    kept = json.loads((waiting / "run.json").read_text())["snapshot"]
    assert snapshot and kept and snapshot != kept  # train.py was edited in between
    snapshots = project.runs / ".snapshots"
    old = time.time() - 3600
    for folder in snapshots.iterdir():
        os.utime(folder, (old, old))
    dry = project.cli("gc", "--dry-run", check=True).stdout
    assert f"would delete .trash/train/{trained.name}" in dry
    assert f"would delete .snapshots/{snapshot}" in dry
    assert "would delete 2 trashed runs" in dry and "and 1 unused snapshot " in dry
    assert (project.runs / ".trash" / "train" / trained.name).is_dir()
    gone = project.cli("gc", check=True).stdout
    assert "deleted 2 trashed runs" in gone
    assert not (project.runs / ".trash" / "train").exists()
    assert not (snapshots / snapshot).exists()
    assert (snapshots / kept).is_dir()  # the waiter still names it
    assert project.cli("gc", check=True).stdout.startswith("deleted 0 trashed runs (0 B)")


def test_gc_keeps_every_snapshot_while_a_runs_spec_is_damaged(project: Project) -> None:
    """Which snapshot a run with a damaged run.json names is unknown: gc deletes none
    until the run is repaired or removed, and says so."""
    setup(project)
    project.cli("run", "train", check=True)
    (project.root / "train.py").write_text(TRAIN.replace("LR = 0.1", "LR = 0.3"))
    project.cli("run", "train", check=True)
    kept, unused = project.run_paths("train")
    project.cli("rm", unused.name, check=True)
    snapshots = project.runs / ".snapshots"
    old = time.time() - 3600
    for folder in snapshots.iterdir():
        os.utime(folder, (old, old))
    spec = (kept / "run.json").read_bytes()
    (kept / "run.json").write_bytes(spec[:40])  # cut short
    (kept.parent / ".finished.json").unlink()  # read again, not from the index's copy
    held = project.cli("gc", check=True)
    assert "1 unused snapshot" not in held.stdout.splitlines()[-1]
    assert f"kept 2 unused snapshots: the run.json of train/{kept.name} is damaged" \
        in held.stderr
    assert len([p for p in snapshots.iterdir() if p.is_dir()]) == 2
    (kept / "run.json").write_bytes(spec)  # repaired: its own snapshot is named again
    freed = project.cli("gc", check=True)
    assert "and 1 unused snapshot " in freed.stdout and not freed.stderr
    (left,) = [p for p in snapshots.iterdir() if p.is_dir()]
    assert left.name == json.loads(spec)["snapshot"]


# -- the dashboard's actions, driven with Pilot --------------------------------------------------
@pytest.fixture
def dash(tmp_path: Path) -> Iterator[PilotProject]:
    made = PilotProject(tmp_path)
    yield made
    stop_runs(made.store.active(), grace=1)


def test_runs_screen_tags_notes_diffs_reproduces_and_removes(dash: PilotProject) -> None:
    dash.finished(dash.launch("train"))

    async def scenario(app: DltuiApp, pilot: Pilot[Any]) -> None:
        ref = (await open_runs(pilot, app, 2)).current_key
        await answer(pilot, app, "T", "+best -quick")
        await until(pilot, lambda: any(r.key == ref and r.cells[-1] == "#best"
                                       for r in table(app).rows), "the tag in its row")
        await answer(pilot, app, "n", "keep this one")
        await until(pilot, lambda: any(r.key == ref and r.cells[-1] == "#best keep this one"
                                       for r in table(app).rows), "the note in its row")
        await pilot.press("slash")
        await type_text(pilot, "keep")
        assert keys_of(app) == [ref]
        await pilot.press("escape")
        await pilot.press("u")
        await until(pilot, lambda: any("train: " in n and "in 2 runs" in n
                                       for n in notes(app)), "the disk use")
        await pilot.press("home", "space", "space", "d")
        view = await until(pilot, lambda: isinstance(app.screen, TextView) and app.screen,
                           "the diff")
        assert "lr: 0.1 -> 0.01" in view.text or "lr: 0.01 -> 0.1" in view.text
        assert "the same snapshot" in view.text
        await pilot.press("escape")
        await pilot.press("escape")  # the marks
        chosen = table(app).current_key
        await pilot.press("p")
        await until(pilot, lambda: len(dash.store.runs("train")) == 3, "a reproduction")
        made = dash.store.runs("train")[-1]
        assert made.spec.reproduces == chosen
        dash.finished([made.dir.path])
        await until(pilot, lambda: len(keys_of(app)) == 3, "the reproduction listed")
        target = table(app).current_key
        await pilot.press("D")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        await pilot.press("y")
        await until(pilot, lambda: target not in keys_of(app) and len(keys_of(app)) == 2,
                    "the run gone from the list")
        assert (dash.runs / ".trash" / str(target)).is_dir()
        assert any("to the trash" in n for n in notes(app))

    drive(dash, scenario, (180, 40))


def test_run_screen_tags_notes_and_refuses_to_remove_an_active_run(dash: PilotProject) -> None:
    (path,) = dash.launch("hold")
    ref = f"hold/{path.name}"

    async def scenario(app: DltuiApp, pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: dash.store.resolve(ref).state == "running", "it runs")
        await open_only_run(pilot, app, ref)
        await answer(pilot, app, "T", "live")
        await until(pilot, lambda: "live" in read_annotations(dash.store.resolve(ref)).tags,
                    "the tag")
        await answer(pilot, app, "n", "watching")
        await until(pilot, lambda: read_annotations(dash.store.resolve(ref)).note
                    == "watching", "the note")
        await pilot.press("D")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        await pilot.press("y")
        await until(pilot, lambda: any("an active run is not removed" in n
                                       for n in notes(app)), "the refusal")
        assert path.is_dir()

    drive(dash, scenario, (160, 40))
