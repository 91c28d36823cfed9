"""The chart keys and the keys between screens, driven with Pilot on run directories
written as the runner writes them (fixed data, no live feed): what each key changes
on screen, read from what the widgets draw."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from test_tui_pilot import open_runs, until
from test_tui_snapshots import MANIFEST, NOW, write_run
from textual.pilot import Pilot
from textual.widgets import Static

from dltui.manifest import load_manifest
from dltui.store import rundir as rd
from dltui.tui.app import DltuiApp, make_app
from dltui.tui.feeds import FRAMES_CATALOG, FRAMES_CATALOG_HIDDEN
from dltui.tui.screens.compare import CompareScreen
from dltui.tui.screens.experiments import ExperimentsScreen
from dltui.tui.screens.queue import QueueScreen
from dltui.tui.screens.run import RunScreen
from dltui.tui.screens.runs import RunsScreen
from dltui.tui.widgets.line_chart import SMOOTHING_STEPS, LineChart
from dltui.tui.widgets.metric_panel import MetricPanel

ACC = {0.1: [0.62, 0.71, 0.78, 0.81], 0.01: [0.55, 0.64, 0.7, 0.74]}


def make(tmp_path: Path, *, again: bool = False) -> DltuiApp:
    """Two runs of a sweep (lr 0.1, then 0.01); with `again`, an older run of lr=0.1."""
    (tmp_path / "experiments.toml").write_text(MANIFEST)
    runs = tmp_path / "runs"
    if again:
        write_run(runs, "cnn-lr", 0, {"epochs": 4, "lr": 0.1}, state=rd.SUCCEEDED,
                  curve=[0.5, 0.6], exit_code=0)
    for number, lr in enumerate(ACC, 1):
        write_run(runs, "cnn-lr", number, {"epochs": 4, "lr": lr}, state=rd.SUCCEEDED,
                  curve=ACC[lr], exit_code=0, log="epoch 4/4\n")
    return make_app(manifest=load_manifest(tmp_path / "experiments.toml"), runs_dir=runs,
                    live=False, cursor_blink=False, clock=lambda: NOW, query_gpus=lambda: [])


def drive(tmp_path: Path, scenario: Callable[[DltuiApp, Pilot[Any]], Awaitable[None]],
          size: tuple[int, int] = (120, 40), *, again: bool = False) -> None:
    async def main() -> None:
        app = make(tmp_path, again=again)
        async with app.run_test(size=size) as pilot:
            await until(pilot, lambda: app.snapshot.loaded and app.snapshot.entries,
                        "the catalog")
            await scenario(app, pilot)

    asyncio.run(asyncio.wait_for(main(), 60))


def drawn(widget: LineChart) -> str:
    return widget.render().plain


def notes(app: DltuiApp) -> list[str]:
    return [n.message for n in app._notifications]


async def open_run_screen(app: DltuiApp, pilot: Pilot[Any]) -> MetricPanel:
    await open_runs(pilot, app, 2)
    await pilot.press("enter")  # the newest run: lr=0.01
    screen = await until(pilot, lambda: isinstance(app.screen, RunScreen) and app.screen,
                         "the run screen")
    panel: MetricPanel = screen.query_one(MetricPanel)
    await until(pilot, lambda: len(panel.metrics) == 2, "the run's metrics")
    return panel


def test_z_steps_the_smoothing_and_y_the_log_scale(tmp_path: Path) -> None:
    async def scenario(app: DltuiApp, pilot: Pilot[Any]) -> None:
        panel = await open_run_screen(app, pilot)
        plain = drawn(panel)
        assert "val_acc  last 0.74  best 0.74 (max)  4 points" in plain
        for weight in SMOOTHING_STEPS[1:]:
            await pilot.press("z")
            assert panel.options.smoothing == weight
            assert notes(app)[-1] == f"smoothing {weight:g}"
        smoothed = drawn(panel)
        assert smoothed != plain
        await pilot.press("z")  # past the last stop: off again
        assert panel.options.smoothing == 0 and notes(app)[-1] == "smoothing off"
        assert drawn(panel) == plain
        await pilot.press("y")
        assert panel.options.log_y and notes(app)[-1] == "log scale"
        assert drawn(panel) != plain
        await pilot.press("y")
        assert not panel.options.log_y and drawn(panel) == plain

    drive(tmp_path, scenario)


def test_x_puts_wall_time_on_the_axis_and_brackets_move_the_cursor(tmp_path: Path) -> None:
    async def scenario(app: DltuiApp, pilot: Pilot[Any]) -> None:
        panel = await open_run_screen(app, pilot)
        assert any(line.startswith(" ") and line.endswith(" step")
                   for line in drawn(panel).splitlines())  # the x axis' name
        await pilot.press("right_square_bracket")  # from nowhere: the first step
        assert panel.options.cursor == 1
        assert "step 1" in drawn(panel) and "val_acc 0.55" in drawn(panel)
        await pilot.press("right_square_bracket", "right_square_bracket")
        assert panel.options.cursor == 3 and "val_acc 0.7" in drawn(panel)
        await pilot.press("left_square_bracket")
        assert panel.options.cursor == 2 and "val_acc 0.64" in drawn(panel)
        await pilot.press("right_square_bracket", "right_square_bracket",
                          "right_square_bracket")  # past the last point: no cursor
        assert panel.options.cursor is None and "step 4" not in drawn(panel)
        await pilot.press("left_square_bracket")  # from nowhere, backwards: the last
        assert panel.options.cursor == 4
        await pilot.press("x")
        assert panel.wall_time and notes(app)[-1] == "x: wall time"
        assert panel.options.cursor is None  # a step is no time: the cursor goes
        plain = drawn(panel)
        assert " time" in plain and "20s" in plain  # the first record, 20 s after the start
        await pilot.press("x")
        assert not panel.wall_time and " step" in drawn(panel)

    drive(tmp_path, scenario)


def test_a_puts_every_metric_on_one_chart(tmp_path: Path) -> None:
    async def scenario(app: DltuiApp, pilot: Pilot[Any]) -> None:
        panel = await open_run_screen(app, pilot)
        apart = drawn(panel)
        assert "val_acc  last" in apart and "loss  last" in apart
        await pilot.press("a")
        assert panel.overlay
        together = drawn(panel)
        assert "val_acc  last" not in together
        assert together.splitlines()[0].startswith("━ val_acc 0.74  ━ loss 0.3")
        await pilot.press("a")
        assert drawn(panel) == apart

    drive(tmp_path, scenario)


def test_the_experiments_chart_overlays_the_sweep_and_follows_the_keys(tmp_path: Path) -> None:
    async def scenario(app: DltuiApp, pilot: Pilot[Any]) -> None:
        screen = app.screen
        assert isinstance(screen, ExperimentsScreen)
        chart = screen.query_one("#experiment-chart", LineChart)
        legend = await until(pilot, lambda: [line for line in drawn(chart).splitlines()
                                             if "━ lr=0.1" in line], "the sweep's chart")
        assert "━ lr=0.1 0.81" in legend[0] and "━ lr=0.01 0.74" in legend[0]
        await pilot.press("z", "y", "left_square_bracket")
        assert chart.options.smoothing == SMOOTHING_STEPS[1] and chart.options.log_y
        assert "step 4" in drawn(chart)

    drive(tmp_path, scenario)


async def open_compare(app: DltuiApp, pilot: Pilot[Any]) -> CompareScreen:
    """`c` on the Experiments screen: the comparison, once its table is filled."""
    await pilot.press("c")
    screen: CompareScreen = await until(pilot, lambda: isinstance(app.screen, CompareScreen)
                                        and app.screen.table and app.screen, "the comparison")
    return screen


def test_m_charts_the_next_metric_in_compare(tmp_path: Path) -> None:
    async def scenario(app: DltuiApp, pilot: Pilot[Any]) -> None:
        screen = await open_compare(app, pilot)
        chart = screen.query_one("#compare-chart", LineChart)
        assert screen.chart_metric == "val_acc"
        assert drawn(chart).startswith("val_acc") and "━ lr=0.1 0.81" in drawn(chart)
        await pilot.press("m")
        assert screen.chart_metric == "loss" and drawn(chart).startswith("loss")
        assert "━ lr=0.1 0.3" in drawn(chart)
        await pilot.press("m")
        assert screen.chart_metric == "val_acc"

    drive(tmp_path, scenario)


def test_keys_1_to_4_show_the_lists_not_the_screens_left_open(tmp_path: Path) -> None:
    async def scenario(app: DltuiApp, pilot: Pilot[Any]) -> None:
        await pilot.press("enter")  # the experiment's latest run, over the Experiments list
        await until(pilot, lambda: isinstance(app.screen, RunScreen), "the run screen")
        await open_run_screen(app, pilot)  # and one over the Runs list
        assert app.catalog_frames == FRAMES_CATALOG_HIDDEN  # no list shown: kept slowly
        await pilot.press("1")
        await until(pilot, lambda: isinstance(app.screen, ExperimentsScreen), "Experiments")
        assert app.catalog_frames == FRAMES_CATALOG
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, RunsScreen), "the Runs list")
        await pilot.press("3", "2")
        await until(pilot, lambda: isinstance(app.screen, RunsScreen), "the Runs list again")
        assert not isinstance(app.screen, QueueScreen)
        assert [type(s).__name__ for s in app.screen_stack][-1] == "RunsScreen"

    drive(tmp_path, scenario)


def test_space_says_what_it_marked(tmp_path: Path) -> None:
    async def scenario(app: DltuiApp, pilot: Pilot[Any]) -> None:
        await pilot.press("space")
        assert notes(app)[-1] == "marked cnn-lr (1 marked: c compares, esc clears)"
        await pilot.press("space")
        assert notes(app)[-1] == "marked lr=0.1 (2 marked: c compares, esc clears)"
        await pilot.press("up", "space")
        assert notes(app)[-1] == "unmarked lr=0.1 (1 marked: c compares, esc clears)"
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, RunsScreen), "the runs")
        await pilot.press("space")
        assert notes(app)[-1] == ("marked cnn-lr/20260528-020000-a2b2 (1 marked: c compares, "
                                  "esc clears)")

    drive(tmp_path, scenario)


def test_the_screenshot_goes_under_the_runs_directory(tmp_path: Path) -> None:
    async def scenario(app: DltuiApp, pilot: Pilot[Any]) -> None:
        await pilot.press("ctrl+p")
        await pilot.press(*"Screenshot")
        await pilot.pause(0.3)
        await pilot.press("enter")
        folder = tmp_path / "runs" / "screenshots"
        shots = await until(pilot, lambda: folder.is_dir() and list(folder.glob("*.svg")),
                            "the screenshot file")
        assert "cnn-lr" in shots[0].read_text()
        saved = await until(pilot, lambda: [n for n in notes(app) if "screenshot" in n],
                            "the notice")
        assert saved[-1] == f"screenshot saved to {shots[0]}"

    drive(tmp_path, scenario)


def test_compare_says_which_runs_it_left_out_and_a_shows_them(tmp_path: Path) -> None:
    async def scenario(app: DltuiApp, pilot: Pilot[Any]) -> None:
        screen = await open_compare(app, pilot)
        title = screen.query_one("#compare-title", Static)
        assert len(screen.table.rows) == 2
        assert "latest per param set: 2 of 3, a shows all" in str(title.render())
        await pilot.press("a")
        await until(pilot, lambda: screen.table and len(screen.table.rows) == 3, "every run")
        assert "latest per param set" not in str(title.render())
        assert "3 runs" in str(title.render())
        await pilot.press("a")
        await until(pilot, lambda: screen.table and len(screen.table.rows) == 2,
                    "the latest per param set again")

    drive(tmp_path, scenario, again=True)
