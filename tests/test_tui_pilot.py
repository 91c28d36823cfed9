"""Every screen and binding of the dashboard, driven with Textual's Pilot against real
run directories made by real short runs (launched through the engine and its queue)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Log

from dltui.manifest import Manifest, load_manifest
from dltui.queue.control import stop_runs
from dltui.queue.gpus import Gpu
from dltui.queue.launch import launch
from dltui.queue.order import queued_runs
from dltui.queue.scheduler import supervisor_lock
from dltui.store import rundir as rd
from dltui.store.runs import RunInfo, RunStore
from dltui.tui.app import DltuiApp, make_app
from dltui.tui.run_actions import TextDialog
from dltui.tui.screens.compare import CompareScreen
from dltui.tui.screens.confirm import ConfirmDialog
from dltui.tui.screens.folder_dialog import FolderDialog
from dltui.tui.screens.launch_dialog import LaunchDialog
from dltui.tui.screens.params import ParamsScreen
from dltui.tui.screens.queue import QueueScreen
from dltui.tui.screens.run import RunScreen
from dltui.tui.screens.runs import RunsScreen
from dltui.tui.widgets.gpu_panel import GpuPanel
from dltui.tui.widgets.run_status import RunStatus
from dltui.tui.widgets.virtual_table import VirtualTable

TRAIN = """
import sys, time
epochs, delay, lr = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
for epoch in range(1, epochs + 1):
    print(f"epoch {epoch}/{epochs} loss={1 / (epoch * lr + 1):.4f} "
          f"acc={0.5 + epoch * lr / 10:.4f}", flush=True)
    time.sleep(delay)
print("[bold]not markup[/bold] [red", flush=True)
"""
# Logs a step every `period` seconds, with the wall time it printed it, until stopped.
HOLD = """
import sys, time
period, step = float(sys.argv[1]), 0
while True:
    step += 1
    print(f"epoch {step} sent={time.time():.4f} loss={1 / step:.4f}", flush=True)
    time.sleep(period)
"""
MANIFEST = """
[settings]
max_parallel = 4
stop_grace = 2

[experiments.train]
command = [{python}, {train}, "{{epochs}}", "{{delay}}", "{{lr}}"]
params = {{ epochs = 3, delay = 0.02, note = "exp[/x]" }}
sweep = {{ lr = [0.1, 0.01] }}
metric = "acc"
mode = "max"
group = "g"
tags = ["quick"]
labels = {{ lr = "learning rate" }}

[experiments.hold]
command = [{python}, {hold}, "{{period}}"]
params = {{ period = 0.05 }}
group = "g"
"""
FAKE_BOARD = [sys.executable, "-c", "import time; time.sleep(60)"]


class Project:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.runs = root / "runs"
        (root / "train.py").write_text(TRAIN)
        (root / "hold.py").write_text(HOLD)
        self.path = root / "experiments.toml"
        self.path.write_text(MANIFEST.format(python=json.dumps(sys.executable),
                                             train=json.dumps(str(root / "train.py")),
                                             hold=json.dumps(str(root / "hold.py"))))
        self.manifest: Manifest = load_manifest(self.path)
        self.store = RunStore(self.runs)
        self.boards: list[Any] = []
        self.holds = contextlib.ExitStack()

    def app(self, **options: Any) -> DltuiApp:
        options.setdefault("query_gpus", lambda: [])
        options.setdefault("tensorboard_argv", lambda runs, port: FAKE_BOARD)
        app = make_app(manifest=self.manifest, runs_dir=self.runs, cursor_blink=False,
                       **options)
        self.boards.append(app.boards)
        return app

    def launch(self, name: str, *, start: bool = True, **overrides: list[Any]) -> list[Path]:
        """Queue runs of `name`; with start=False this process holds the queue's supervisor
        lock, as a busy supervisor elsewhere would, so that they stay queued."""
        if not start:
            self.runs.mkdir(parents=True, exist_ok=True)
            assert self.holds.enter_context(supervisor_lock(self.runs))
        made = launch(manifest=self.manifest, names=[name], overrides=overrides or None,
                      runs_dir=self.runs)
        return [run.path for run in made]

    def finished(self, paths: list[Path], timeout: float = 60) -> list[RunInfo]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            infos = [self.store.resolve(f"{p.parent.name}/{p.name}") for p in paths]
            if all(i.is_final for i in infos):
                return infos
            time.sleep(0.05)
        raise AssertionError(f"runs did not finish within {timeout} s")


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    made = Project(tmp_path)
    yield made
    made.holds.close()
    stop_runs(made.store.active(), grace=1)
    for boards in made.boards:
        for board in boards.values():
            board.process.kill()
            board.process.wait()


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 120))


def drive(project: Project, scenario: Callable[[DltuiApp, Pilot[Any]], Awaitable[None]],
          size: tuple[int, int], **app_options: Any) -> None:
    """`scenario` on the dashboard of `project` (made with `app_options`) at `size`."""
    async def main() -> None:
        app = project.app(**app_options)
        async with app.run_test(size=size) as pilot:
            await scenario(app, pilot)

    run(main)


async def until(pilot: Pilot[Any], condition: Callable[[], Any], what: str,
                timeout: float = 30) -> Any:
    """Wait for `condition` to be truthy, letting the app work; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        await pilot.pause(0.03)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def table(app: DltuiApp) -> VirtualTable:
    return app.screen.query_one(VirtualTable)


def keys_of(app: DltuiApp) -> list[str]:
    return [row.key for row in table(app).rows]


def notes(app: DltuiApp) -> list[str]:
    return [n.message for n in app._notifications]


async def open_only_run(pilot: Pilot[Any], app: DltuiApp, ref: str) -> RunScreen:
    """The Runs list (`2`) showing just `ref`, then that run's screen (enter)."""
    await pilot.press("2")
    await until(pilot, lambda: isinstance(app.screen, RunsScreen) and keys_of(app) == [ref],
                "the runs list")
    await pilot.press("enter")
    screen: RunScreen = await until(pilot, lambda: isinstance(app.screen, RunScreen)
                                    and app.screen, "the run screen")
    return screen


async def open_runs(pilot: Pilot[Any], app: DltuiApp, count: int) -> VirtualTable:
    """The Runs list (`2`), once it lists `count` runs."""
    await pilot.press("2")
    await until(pilot, lambda: isinstance(app.screen, RunsScreen)
                and len(keys_of(app)) == count, "the runs")
    return table(app)


async def type_text(pilot: Pilot[Any], text: str) -> None:
    await pilot.press(*[{" ": "space"}.get(c, c) for c in text])


async def answer(pilot: Pilot[Any], app: DltuiApp, key: str, text: str) -> None:
    """`key` opens a text dialog (tag, note); type `text` in it and enter."""
    await pilot.press(key)
    await until(pilot, lambda: isinstance(app.screen, TextDialog), f"the dialog of {key}")
    await type_text(pilot, text)
    await pilot.press("enter")


# -- experiments --------------------------------------------------------------------------------
def test_experiments_launch_dialog_queues_runs_with_overrides(project: Project) -> None:
    async def scenario(app: DltuiApp, pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: keys_of(app) == ["train", "train#0", "train#1", "hold"],
                    "the experiments and sweep rows")
        assert table(app).current_key == "train"
        await pilot.press("l")
        dialog = await until(pilot, lambda: isinstance(app.screen, LaunchDialog) and
                             app.screen, "the launch dialog")
        preview = str(dialog.query_one("#preview").render())
        assert "2 runs will be queued" in preview
        dialog.query_one(Input).value = "epochs=2 lr=0.5,0.05,"
        await type_text(pilot, "0.005")
        assert "3 runs will be queued" in str(dialog.query_one("#preview").render())
        await type_text(pilot, " bogus")
        assert "not key=value" in str(dialog.query_one("#preview").render())
        await pilot.press("backspace", "backspace", "backspace", "backspace", "backspace",
                          "backspace", "enter")
        await until(pilot, lambda: not isinstance(app.screen, LaunchDialog),
                    "the dialog to close")
        await until(pilot, lambda: "queued 3 runs" in notes(app), "the launch notice")
        entries = await until(pilot, lambda: [
            e for e in app.snapshot.entries if e.key == "train" and e.runs == 3
            and e.states == {"succeeded": 3}], "three finished runs")
        assert entries[0].best == pytest.approx(0.5 + 2 * 0.5 / 10)
        params = sorted(i.spec.params["lr"] for i in project.store.runs("train"))
        assert params == [0.005, 0.05, 0.5]
        assert {i.spec.params["epochs"] for i in project.store.runs("train")} == {2}
        row = table(app).row_of("train")
        assert row is not None and row.cells[4] == "✓3 succeeded"
        assert row.cells[6] == "0.6" and row.cells[7]  # best, and a curve

    drive(project, scenario, (140, 40))


def test_experiments_filter_mark_launch_as_is_open_and_stop(project: Project) -> None:
    async def scenario(app: DltuiApp, pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: len(keys_of(app)) == 4, "the experiments")
        await pilot.press("slash")
        await type_text(pilot, "0.01")
        assert keys_of(app) == ["train", "train#1"]
        await pilot.press("enter", "down", "L")  # launch only the lr=0.01 row
        await until(pilot, lambda: "queued 1 run" in notes(app), "the launch notice")
        await until(pilot, lambda: [e for e in app.snapshot.entries
                                    if e.key == "train#1" and e.states == {"succeeded": 1}],
                    "the lr=0.01 run to finish")
        assert [i.spec.params["lr"] for i in project.store.runs("train")] == [0.01]
        await pilot.press("escape")
        assert len(keys_of(app)) == 4
        await pilot.press("end", "space")
        assert table(app).marked == {"hold"}
        await pilot.press("L")
        await until(pilot, lambda: [e for e in app.snapshot.entries
                                    if e.key == "hold" and e.states == {"running": 1}],
                    "hold to run")
        await pilot.press("up", "s")  # the mark, not the cursor, is the selection
        dialog = await until(pilot, lambda: isinstance(app.screen, ConfirmDialog)
                             and app.screen, "the stop question")
        assert dialog.question == "Stop 1 run?"
        await pilot.press("y")
        await until(pilot, lambda: [e for e in app.snapshot.entries
                                    if e.key == "hold" and e.states == {"killed": 1}],
                    "hold to be stopped")
        await pilot.press("escape", "escape", "up", "enter")  # marks cleared; open train#0
        assert "has no run yet" in notes(app)[-1]
        await pilot.press("down", "enter")
        screen = await until(pilot, lambda: isinstance(app.screen, RunScreen)
                             and app.screen, "the run screen")
        await until(pilot, lambda: screen.view is not None, "the run's picture")
        assert screen.view.info.spec.params["lr"] == 0.01

    drive(project, scenario, (140, 40))


# -- run ----------------------------------------------------------------------------------------
def test_the_run_screen_shows_the_newest_value_while_the_run_is_live(
        project: Project) -> None:
    """Live, without a clock: the run (wrapper and script) is paused with SIGSTOP, and
    the screen must come to show exactly the last value its metrics hold; three times,
    the run continued in between. How fast is bench_dashboard.py's to measure."""
    (path,) = project.launch("hold")

    async def scenario(app: DltuiApp, pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: [e for e in app.snapshot.entries
                                    if e.key == "hold" and e.states == {"running": 1}],
                    "hold to run")
        await pilot.press("end", "enter")
        screen = await until(pilot, lambda: isinstance(app.screen, RunScreen)
                             and app.screen, "the run screen")
        group = int(json.loads((path / "status.json").read_text())["pgid"])
        shown: list[float] = []
        try:
            for _ in range(3):
                await until(pilot, lambda: screen.view and "sent" in screen.view.digest.metrics,
                            "a value on screen")
                os.killpg(group, signal.SIGSTOP)
                last = [r["sent"] for r in map(json.loads, (path / "metrics.jsonl")
                                               .read_text().splitlines()) if "sent" in r][-1]
                await until(pilot, lambda v=last: screen.view.digest.metrics["sent"].last == v,
                            f"the screen to show {last}, the last value logged")
                assert not shown or last > shown[-1]
                shown.append(last)
                os.killpg(group, signal.SIGCONT)
                await until(pilot, lambda: screen.view.digest.metrics["sent"].last > shown[-1],
                            "the next value, the run continued")
        finally:
            os.killpg(group, signal.SIGCONT)
        assert screen.view.info.state == rd.RUNNING
        log = screen.query_one(Log)
        assert any(line.startswith("epoch ") for line in log.lines)
        await pilot.press("s", "y")
        await until(pilot, lambda: screen.view and screen.view.info.state == rd.KILLED,
                    "the run to be stopped")
        assert "stopped (SIGTERM)" in str(screen.query_one(RunStatus).render())

    drive(project, scenario, (140, 40))


def test_run_screen_shows_text_literally_restarts_and_opens_tensorboard(
        project: Project) -> None:
    first = project.finished(project.launch("train", lr=[0.1]))[0]

    async def scenario(app: DltuiApp, pilot: Pilot[Any]) -> None:
        screen = await open_only_run(pilot, app, first.ref)
        log = screen.query_one(Log)
        await until(pilot, lambda: "[bold]not markup[/bold] [red" in log.lines,
                    "the last log line, literally")
        status = str(screen.query_one(RunStatus).render())
        assert "✓ succeeded" in status and "exit code 0" in status
        assert "note=exp[/x]" in status and "3/3" in status
        await pilot.press("r")
        await until(pilot, lambda: len(project.store.runs("train")) == 2, "a second run")
        await pilot.press("R")
        dialog = await until(pilot, lambda: isinstance(app.screen, LaunchDialog)
                             and app.screen, "the restart dialog")
        field = dialog.query_one(Input)
        assert field.value == 'delay=0.02 epochs=3 lr=0.1 note=exp[/x]'
        field.value = "epochs=1 delay=0.01 note=exp[/x] lr=0.2"
        await pilot.press("enter")
        await until(pilot, lambda: any(i.spec.params["lr"] == 0.2
                                       for i in project.store.runs("train")),
                    "the changed restart")
        await pilot.press("t")
        url = await until(pilot, lambda: screen.query_one(RunStatus).tensorboard,
                          "the TensorBoard address")
        assert url.startswith("http://127.0.0.1:")
        assert any("TensorBoard on" in n for n in notes(app))
        await pilot.press("f")
        assert not log.auto_scroll
        await pilot.press("f", "escape")
        assert isinstance(app.screen, RunsScreen)

    drive(project, scenario, (140, 40))


def test_run_screen_continues_a_stopped_run_in_its_directory(project: Project) -> None:
    (path,) = project.launch("hold")
    info = project.store.resolve(f"hold/{path.name}")
    wait_until_logged = time.monotonic() + 30
    while not (path / "metrics.jsonl").exists() and time.monotonic() < wait_until_logged:
        time.sleep(0.05)
    stop_runs([info], grace=2)

    async def scenario(app: DltuiApp, pilot: Pilot[Any]) -> None:
        screen = await open_only_run(pilot, app, info.ref)
        await until(pilot, lambda: "killed" in str(screen.query_one(RunStatus).render()),
                    "the stopped run")
        await pilot.press("c")
        await until(pilot, lambda: any("queued again in its directory" in n
                                       for n in notes(app)), "the requeue note")
        await until(pilot, lambda: "running" in str(screen.query_one(RunStatus).render()),
                    "the same run running again")
        status = json.loads((path / "status.json").read_text())
        assert status["attempt"] == 2 and len(project.store.runs("hold")) == 1
        await pilot.press("c")  # it runs: nothing to continue
        await until(pilot, lambda: any("stop it first" in n for n in notes(app)),
                    "the refusal")

    drive(project, scenario, (140, 40))


# -- queue --------------------------------------------------------------------------------------
def test_queue_screen_reorders_and_cancels_queued_runs(project: Project) -> None:
    project.launch("train", start=False, lr=[0.1, 0.2, 0.3])  # no supervisor: they wait

    async def scenario(app: DltuiApp, pilot: Pilot[Any]) -> None:
        await pilot.press("3")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen)
                    and len(keys_of(app)) == 3, "three queued runs")
        assert [r.cells[0] for r in table(app).rows] == ["#1", "#2", "#3"]
        assert not app.screen.query_one(GpuPanel).display
        lrs = lambda: [i.spec.params["lr"] for i in queued_runs(project.store)]  # noqa: E731
        assert lrs() == [0.1, 0.2, 0.3]
        await pilot.press("end", "u")
        await until(pilot, lambda: lrs() == [0.1, 0.3, 0.2], "0.3 moved up")
        await until(pilot, lambda: table(app).current_row.cells[0] == "#2",
                    "the cursor to follow the run")
        await pilot.press("shift+up")
        await until(pilot, lambda: lrs() == [0.3, 0.1, 0.2], "0.3 moved first")
        await pilot.press("d")
        await until(pilot, lambda: lrs() == [0.1, 0.3, 0.2], "0.3 moved down")
        await pilot.press("x", "y")
        await until(pilot, lambda: lrs() == [0.1, 0.2], "0.3 cancelled")
        await until(pilot, lambda: len(keys_of(app)) == 2, "the row to go")
        states = {i.spec.params["lr"]: i.state for i in project.store.runs("train")}
        assert states == {0.1: "queued", 0.2: "queued", 0.3: "killed"}
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RunScreen), "the run screen")

    drive(project, scenario, (140, 40))


def test_queue_screen_shows_gpus_when_there_are_some(project: Project) -> None:
    gpus = [Gpu(0, "Fake GPU", 16384.0, 4096.0, 30.0), Gpu(1, "Fake GPU", 16384.0, None, None)]

    async def scenario(app: DltuiApp, pilot: Pilot[Any]) -> None:
        await pilot.press("3")
        panel = await until(pilot, lambda: isinstance(app.screen, QueueScreen)
                            and app.screen.query_one(GpuPanel), "the queue screen")
        await until(pilot, lambda: panel.display and panel.gpus, "the GPU panel")
        text = str(panel.render())
        assert "GPU 0  Fake GPU" in text and "4.0/16.0 GiB" in text and "30%" in text
        assert "memory n/a" in text
        assert [r.cells[:4] for r in table(app).rows] == [
            ("GPU 0", "", "", "idle"), ("GPU 1", "", "", "idle")]

    drive(project, scenario, (140, 40), query_gpus=lambda: gpus)


# -- compare ------------------------------------------------------------------------------------
def test_compare_sorts_exports_and_opens_runs(project: Project,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    project.finished(project.launch("train"))

    async def scenario(app: DltuiApp, pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: [e for e in app.snapshot.entries
                                    if e.key == "train" and e.runs == 2], "two runs")
        await pilot.press("c")
        screen = await until(pilot, lambda: isinstance(app.screen, CompareScreen)
                             and app.screen.table and app.screen, "the comparison")
        grid = screen.query_one(DataTable)
        labels = [str(c.label) for c in grid.columns.values()]
        assert labels[:3] == ["Run", "acc ▼", "learning rate"]  # the metric, then params
        assert "acc (best)" not in labels

        def lrs() -> list[str]:
            return [str(grid.get_row_at(i)[2]) for i in range(grid.row_count)]

        assert lrs() == ["0.1", "0.01"]  # best acc first
        await pilot.press("s")  # the next column: learning rate, ascending
        assert lrs() == ["0.01", "0.1"]
        assert str(grid.ordered_columns[2].label) == "learning rate ▲"
        assert str(grid.ordered_columns[1].label) == "acc"
        await pilot.press("S")
        assert lrs() == ["0.1", "0.01"]
        assert str(grid.ordered_columns[2].label) == "learning rate ▼"
        await pilot.press("e")
        dialog = await until(pilot, lambda: isinstance(app.screen, FolderDialog)
                             and app.screen, "the export folder question")
        assert dialog.query_one(Input).value == str(project.runs / "exports")
        await pilot.press("enter")
        await until(pilot, lambda: any(n.startswith("wrote ") for n in notes(app)),
                    "the export notice")
        exports = project.runs / "exports"
        for suffix in ("md", "csv", "tex"):
            assert (exports / f"compare-train.{suffix}").is_file()
            assert not (project.root / f"compare-train.{suffix}").exists()
        assert str(exports) in notes(app)[-1]
        assert "| Run | acc | learning rate |" in (exports / "compare-train.md").read_text()
        await pilot.press("e")  # a folder the user names, relative to the runs directory
        dialog = await until(pilot, lambda: isinstance(app.screen, FolderDialog)
                             and app.screen, "the export folder question")
        dialog.query_one(Input).value = "paper/tables"
        await pilot.press("enter")
        await until(pilot, lambda: (project.runs / "paper/tables/compare-train.csv")
                    .is_file(), "the export in the named folder")
        monkeypatch.setitem(sys.modules, "dltui.report.writer", None)
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, FolderDialog), "the report folder")
        await pilot.press("enter")
        assert "not available" in notes(app)[-1]
        await pilot.press("enter")
        run_screen = await until(pilot, lambda: isinstance(app.screen, RunScreen)
                                 and app.screen, "the run screen")
        assert run_screen.path.name == screen.table.runs[0].run_id
        await pilot.press("escape", "escape")
        await until(pilot, lambda: not isinstance(app.screen, CompareScreen), "going back")
        await pilot.press("g")
        group = await until(pilot, lambda: isinstance(app.screen, CompareScreen)
                            and app.screen.table and app.screen, "the group comparison")
        assert group.heading == "group g" and len(group.table.rows) == 2

    drive(project, scenario, (160, 40))


# -- runs ---------------------------------------------------------------------------------------
def test_runs_screen_filters_sorts_marks_and_uses_the_mouse(project: Project) -> None:
    project.finished(project.launch("train"))

    async def scenario(app: DltuiApp, pilot: Pilot[Any]) -> None:
        grid = await open_runs(pilot, app, 2)
        await pilot.press("slash")
        await type_text(pilot, "lr=0.01")
        assert [r.cells[3] for r in grid.rows] == ["delay=0.02 epochs=3 lr=0.01 note=exp[/x]"]
        await pilot.press("escape")
        assert len(grid.rows) == 2 and grid.has_focus
        await pilot.press("o")
        assert grid.sort_column == "experiment" and not grid.sort_descending
        await pilot.press("o", "o", "o", "o")
        assert grid.sort_column == "best"
        assert [r.cells[3].split()[2] for r in grid.rows] == ["lr=0.1", "lr=0.01"]
        await pilot.press("O")
        assert [r.cells[3].split()[2] for r in grid.rows] == ["lr=0.01", "lr=0.1"]
        await pilot.click(VirtualTable, offset=(4, 0))  # the Run header
        assert grid.sort_column == "run" and not grid.sort_descending
        await pilot.click(VirtualTable, offset=(4, 0))
        assert grid.sort_descending
        await pilot.click(VirtualTable, offset=(10, 2))  # the second row
        assert grid.cursor == 1
        await pilot.press("home", "space", "space")
        assert len(grid.marked) == 2
        await pilot.press("s")
        assert "nothing to stop" in notes(app)[-1]
        await pilot.press("t")
        await until(pilot, lambda: any("TensorBoard on" in n and "2 runs" in n
                                       for n in notes(app)), "TensorBoard for both")
        await pilot.press("c")
        compared = await until(pilot, lambda: isinstance(app.screen, CompareScreen)
                               and app.screen.table and app.screen, "the comparison")
        assert compared.heading == "2 marked runs" and len(compared.table.rows) == 2
        await pilot.press("escape")
        await pilot.click(VirtualTable, offset=(10, 1), times=2)
        await until(pilot, lambda: isinstance(app.screen, RunScreen), "a double-click")

    drive(project, scenario, (150, 30))


# -- params -------------------------------------------------------------------------------------
def test_params_screen_counts_as_one_types(project: Project) -> None:
    async def scenario(app: DltuiApp, pilot: Pilot[Any]) -> None:
        await pilot.press("4")
        screen = await until(pilot, lambda: isinstance(app.screen, ParamsScreen)
                             and app.screen, "the parameters screen")
        totals = screen.query_one("#params-totals")
        assert str(totals.render()).startswith("total 10,298")
        field = screen.query_one("#spec", Input)
        assert field.has_focus
        field.value = "28x28x3 | flatten | linear 100 | linear"
        await type_text(pilot, " 10")
        assert str(totals.render()).startswith("total 236,310")
        grid = screen.query_one(DataTable)
        assert grid.row_count == 4
        assert [str(c) for c in grid.get_row_at(2)][3:5] == ["235,300", "2352*100 + 100 = "
                                                             "235,300"]
        await type_text(pilot, " | conv 3")
        error = str(screen.query_one("#params-error").render())
        assert "layer 4" in error and grid.row_count == 4  # the last good table stays
        await pilot.press("ctrl+n")
        assert field.value == "28x28x3 | flatten | linear 100 | linear 10"
        assert str(screen.query_one("#params-error").render()) == ""
        await pilot.press("ctrl+b")
        assert field.value.startswith("28x28x3 | conv 8 5x5")
        await pilot.press("escape")
        assert grid.has_focus
        await pilot.press("1")
        assert app.current_mode == "experiments"

    drive(project, scenario, (140, 40))


# -- the command palette --------------------------------------------------------------------------
def test_command_palette_finds_the_screens_bindings(project: Project) -> None:
    async def scenario(app: DltuiApp, pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: len(keys_of(app)) == 4, "the experiments")
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Launch…", "Launch as is", "Stop", "Compare", "Compare group", "Filter",
                "Runs", "Queue", "Params", "Open"} <= titles
        await pilot.press("ctrl+p")
        await type_text(pilot, "Compare group")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, CompareScreen), "the comparison")

    drive(project, scenario, (140, 40))
