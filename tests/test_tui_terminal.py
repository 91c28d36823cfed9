"""The dashboard in a real terminal: `dltui` runs in a detached tmux session of fixed
size, keys go in with send-keys, and what the terminal shows is read with capture-pane."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_tui_snapshots import MANIFEST, write_run

from dltui.store import rundir as rd

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None,
                                reason="tmux is not installed (.ci/run installs it)")
DLTUI = Path(sys.executable).with_name("dltui")


class Terminal:
    """One tmux server of our own (its own socket), one session in it."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def tmux(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                              text=True, timeout=20)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "dash").stdout

    def keys(self, *keys: str, literal: bool = False) -> None:
        self.tmux("send-keys", "-t", "dash", *(["-l"] if literal else []), *keys)

    def wait_for(self, *texts: str, absent: tuple[str, ...] = (), timeout: float = 30) -> str:
        """The screen once it shows every one of `texts` and none of `absent`. Widgets
        repaint in separate frames, so everything a check needs is waited for together."""
        deadline = time.monotonic() + timeout
        shown = ""
        while time.monotonic() < deadline:
            shown = self.screen()
            if all(t in shown for t in texts) and not any(t in shown for t in absent):
                return shown
            time.sleep(0.05)
        raise AssertionError(f"the terminal never showed {texts} without {absent}; "
                             f"it shows:\n{shown}")

    def alive(self) -> bool:
        return self.tmux("has-session", "-t", "dash").returncode == 0


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    made = Terminal(f"dltui-test-{os.getpid()}-{time.time_ns()}")
    yield made
    made.tmux("kill-server")


def test_dashboard_in_a_real_terminal(tmp_path: Path, terminal: Terminal) -> None:
    manifest = tmp_path / "experiments.toml"
    manifest.write_text(MANIFEST)
    runs = tmp_path / "runs"
    write_run(runs, "cnn-lr", 1, {"epochs": 4, "lr": 0.1}, state=rd.SUCCEEDED,
              curve=[0.6, 0.7, 0.8], exit_code=0,
              log="epoch 1/4 loss=1.0\n[bold]saved[/bold] model [red\n")
    write_run(runs, "cnn-lr", 2, {"epochs": 4, "lr": 0.01}, state=rd.SUCCEEDED,
              curve=[0.5, 0.6], exit_code=0)
    # COLUMNS and LINES (pytest may set them) would override the pane's real size.
    command = f"env -u COLUMNS -u LINES {DLTUI} --manifest {manifest} --runs {runs}"
    done = terminal.tmux("new-session", "-d", "-s", "dash", "-x", "120", "-y", "30", command)
    assert done.returncode == 0, done.stderr
    terminal.wait_for("Experiments", "cnn-lr", "└ lr=0.01", "✓ succeeded", "2 runs", "0.8")
    terminal.keys("2")
    terminal.wait_for("Runs", "20260528-010000-a1b1", "20260528-020000-a2b2")
    terminal.keys("/")
    terminal.keys("lr=0.01", literal=True)
    terminal.wait_for("1 of 2 runs", "20260528-020000-a2b2", absent=("20260528-010000-a1b1",))
    terminal.keys("Enter")  # leave the filter: the footer shows the table's keys again
    terminal.wait_for("space Mark")
    terminal.keys("Enter")
    terminal.wait_for("Run cnn-lr/20260528-020000-a2b2", "exit code 0")
    terminal.keys("Escape", "Escape")  # back, then clear the filter
    terminal.wait_for("Runs — 2 runs", "20260528-010000-a1b1", absent=("1 of 2 runs",))
    terminal.keys("End", "Enter")  # the last row: the oldest run
    terminal.wait_for("Run cnn-lr/20260528-010000-a1b1",
                      "[bold]saved[/bold] model [red")  # markup shown, not applied
    terminal.keys("Escape")
    terminal.wait_for("Runs — 2 runs")
    terminal.keys("4")
    terminal.wait_for("Parameters", "total 10,298")
    terminal.keys(" | linear 5", literal=True)
    terminal.wait_for("total 10,353")
    terminal.keys("Escape")  # the table takes the keys: the app's show in the footer
    terminal.wait_for("esc Spec/table", "q Quit")
    terminal.keys("3")
    terminal.wait_for("Queue", "nothing queued or running")
    terminal.keys("q")
    deadline = time.monotonic() + 20
    while terminal.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not terminal.alive(), "q did not quit the dashboard"


def test_dashboard_at_80_by_24(tmp_path: Path, terminal: Terminal) -> None:
    """The usual SSH size: the columns that matter, the chart, and the keys in the footer."""
    manifest = tmp_path / "experiments.toml"
    manifest.write_text(MANIFEST)
    runs = tmp_path / "runs"
    for number, (lr, curve) in enumerate(((0.1, [0.6, 0.7, 0.8]), (0.01, [0.5, 0.6])), 1):
        write_run(runs, "cnn-lr", number, {"epochs": 4, "lr": lr}, state=rd.SUCCEEDED,
                  curve=curve, exit_code=0, log="epoch 1/4 loss=1.0\n")
    command = f"env -u COLUMNS -u LINES {DLTUI} --manifest {manifest} --runs {runs}"
    done = terminal.tmux("new-session", "-d", "-s", "dash", "-x", "80", "-y", "24", command)
    assert done.returncode == 0, done.stderr
    shown = terminal.wait_for("Experiment", "Latest", "Best", "└ lr=0.01", "━ lr=0.1 0.8",
                              "space Mark", "c Compare")
    assert all(len(line) <= 80 for line in shown.splitlines())
    terminal.keys("Enter")
    terminal.wait_for("Run cnn-lr/20260528-020000-a2b2", "val_acc  last 0.6 ", "step")
    terminal.keys("1")  # the list, not the run left open
    terminal.wait_for("Experiments", "└ lr=0.1")
    terminal.keys("2")
    terminal.wait_for("Runs", "20260528-020000-a2b2", "State", "Best")
    terminal.keys("q")
