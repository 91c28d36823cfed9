"""Pictures of every screen, compared with the accepted ones in tests/snapshots/.

The data is fixed: run directories written directly with fixed ids and times, no
live feeds, a frozen clock, fake GPUs, a fixed terminal size and no cursor blink.
Accept a deliberate change with `pytest tests/test_tui_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_textual_snapshot import SVGImageExtension
from syrupy.assertion import SnapshotAssertion
from textual.pilot import Pilot

from dltui.manifest import load_manifest
from dltui.queue.gpus import Gpu
from dltui.store import rundir as rd
from dltui.store.active import mark_active
from dltui.tui.app import DltuiApp, make_app
from dltui.tui.screens.compare import CompareScreen
from dltui.tui.screens.run import RunScreen

SIZE = (120, 32)
# The usual SSH terminal, and a wide one: every screen is pictured at both.
SIZES = pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=["80x24", "200x50"])
NOW = 1_780_000_000.0
MANIFEST = """
[experiments.cnn-lr]
command = ["python", "train.py", "--lr={lr}"]
params = { epochs = 4 }
sweep = { lr = [0.1, 0.01, 0.001] }
metric = "val_acc"
mode = "max"
group = "report"
tags = ["cnn", "sweep"]
description = "CNN on Fashion-MNIST, learning-rate sweep"

[experiments.mlp]
command = ["python", "mlp.py"]
params = { hidden = 100 }
metric = "val_acc"
mode = "max"
group = "report"
"""
CURVES = {0.1: [0.62, 0.71, 0.78, 0.81], 0.01: [0.55, 0.64, 0.7, 0.74]}


class SnapshotsFolder(SVGImageExtension):
    """Pictures in tests/snapshots/<module>/ rather than syrupy's __snapshots__."""

    @classmethod
    def dirname(cls, *, test_location: Any) -> str:
        return str(Path(test_location.filepath).parent / "snapshots" / test_location.basename)


class _Assertion(SnapshotAssertion):
    def use_extension(self, extension_class: Any = None) -> SnapshotAssertion:
        return super().use_extension(SnapshotsFolder)


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return _Assertion(update_snapshots=snapshot.update_snapshots,
                      test_location=snapshot.test_location, extension_class=SnapshotsFolder,
                      session=snapshot.session)


def write_run(runs: Path, experiment: str, number: int, params: dict[str, Any], *, state: str,
              curve: list[float] | None = None, log: str = "", **status: Any) -> rd.RunDir:
    when = NOW - 3600 + number * 120
    spec = rd.RunSpec(run_id=f"20260528-0{number}0000-a{number}b{number}", experiment=experiment,
                      argv=["python", "train.py"], params=params, cwd=str(runs.parent),
                      metric="val_acc", mode="max", created=when)
    if state != rd.QUEUED:
        status.update(started_at=when + 2, ended_at=when + 95)
    if curve:
        status["metrics"] = {"val_acc": {"last": curve[-1], "best": max(curve),
                                         "count": len(curve)}}
        status.update(last_step=len(curve), total=len(curve))
    run = rd.create_run_dir(runs, spec, state=state, queued_at=when, queue_order=when, **status)
    if curve:
        with open(run.metrics_file, "w") as out:
            for step, acc in enumerate(curve, 1):
                out.write(json.dumps({"step": step, "time": when + 2 + step * 20,
                                      "val_acc": acc, "loss": round(1.2 / step, 4)}) + "\n")
    run.log_file.write_text(log)
    if state == rd.QUEUED:
        mark_active(runs, run.path)
    return run


@pytest.fixture
def app_factory(tmp_path: Path) -> Callable[[], DltuiApp]:
    (tmp_path / "experiments.toml").write_text(MANIFEST)
    runs = tmp_path / "runs"
    for number, lr in enumerate((0.1, 0.01), 1):
        log = "".join(f"epoch {s}/4 loss={1.2 / s:.4f} val_acc={a}\n"
                      for s, a in enumerate(CURVES[lr], 1))
        write_run(runs, "cnn-lr", number, {"epochs": 4, "lr": lr}, state=rd.SUCCEEDED,
                  curve=CURVES[lr], exit_code=0, log=log + "[bold]saved[/bold] model\n")
    write_run(runs, "cnn-lr", 3, {"epochs": 4, "lr": 0.001}, state=rd.FAILED, exit_code=1,
              curve=[0.21, 0.26], error="exited with code 1",
              log="Traceback: CUDA out of memory\n")
    write_run(runs, "mlp", 4, {"hidden": 100}, state=rd.QUEUED)
    (runs / "cnn-lr" / "20260528-010000-a1b1" / "summary.json").write_text(
        json.dumps({"num_params": 1_266_422, "test_acc": 0.806}))

    def make() -> DltuiApp:
        return make_app(manifest=load_manifest(tmp_path / "experiments.toml"), runs_dir=runs,
                        live=False, cursor_blink=False, clock=lambda: NOW,
                        query_gpus=lambda: [Gpu(0, "NVIDIA RTX 4090", 24564.0, 1024.0, 3.0)])

    return make


async def _until(pilot: Pilot[Any], condition: Callable[[], Any]) -> None:
    for _ in range(400):
        if condition():
            await pilot.pause()
            return
        await pilot.pause(0.02)
    raise AssertionError("the screen never got its data")


async def loaded(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, DltuiApp)
    await _until(pilot, lambda: app.snapshot.loaded)


async def run_screen(pilot: Pilot[Any], *keys: str) -> None:
    await loaded(pilot)
    await pilot.press("down", "enter")  # the lr=0.1 run
    await _until(pilot, lambda: isinstance(pilot.app.screen, RunScreen)
                 and pilot.app.screen.view is not None)
    await pilot.press(*keys)


@SIZES
@pytest.mark.parametrize("keys", [
    pytest.param([], id="experiments"),
    pytest.param(["2"], id="runs"),
    pytest.param(["4"], id="params"),
    pytest.param(["4", *" | conv 3"], id="params-with-a-mistake"),
])
def test_screen_as_a_key_opens_it(snap_compare: Any, app_factory: Callable[[], DltuiApp],
                                  size: tuple[int, int], keys: list[str]) -> None:
    assert snap_compare(app_factory(), press=keys, terminal_size=size, run_before=loaded)


def after(key: str, ready: Callable[[Any], object]) -> Callable[[Pilot[Any]], Awaitable[None]]:
    """Before the picture: the data loaded, then `key`, then until `ready(app)`."""
    async def run_before(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await pilot.press(key)
        await _until(pilot, lambda: ready(pilot.app))

    return run_before


@SIZES
@pytest.mark.parametrize("ready", [
    pytest.param(run_screen, id="run"),
    pytest.param(after("3", lambda app: len(app.screen.query_one("VirtualTable").rows) == 2),
                 id="queue"),
    pytest.param(after("c", lambda app: isinstance(app.screen, CompareScreen)
                       and app.screen.table is not None), id="compare"),
])
def test_screen_once_its_data_is_in(snap_compare: Any, app_factory: Callable[[], DltuiApp],
                                    size: tuple[int, int],
                                    ready: Callable[[Pilot[Any]], Awaitable[None]]) -> None:
    assert snap_compare(app_factory(), terminal_size=size, run_before=ready)


def test_chart_of_one_run(snap_compare: Any, app_factory: Callable[[], DltuiApp]) -> None:
    assert snap_compare(app_factory(), terminal_size=SIZE, run_before=run_screen)


def test_chart_of_three_runs_overlaid(snap_compare: Any,
                                      app_factory: Callable[[], DltuiApp]) -> None:
    assert snap_compare(app_factory(), terminal_size=SIZE, run_before=loaded)


def test_chart_smoothed(snap_compare: Any, app_factory: Callable[[], DltuiApp]) -> None:
    async def smoothed(pilot: Pilot[Any]) -> None:
        await run_screen(pilot, "z", "z")  # weight 0.9

    assert snap_compare(app_factory(), terminal_size=SIZE, run_before=smoothed)


def test_chart_log_y_with_the_cursor(snap_compare: Any,
                                     app_factory: Callable[[], DltuiApp]) -> None:
    async def log_y(pilot: Pilot[Any]) -> None:
        await run_screen(pilot, "y", "right_square_bracket", "right_square_bracket")

    assert snap_compare(app_factory(), terminal_size=SIZE, run_before=log_y)
