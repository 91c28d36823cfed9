"""Shared fixtures: a project folder with a manifest, real scripts, the CLI as a process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import slurm_cluster

SCRIPTS = Path(__file__).parent / "scripts"


def wait_for(condition: Callable[[], object], timeout: float = 30.0, poll: float = 0.05,
             what: str = "condition") -> object:
    """Poll `condition` until it is truthy; fail the test with `what` on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@dataclass
class CliResult:
    """What a command printed and how it exited, as `subprocess.run` reports it."""

    returncode: int
    stdout: str
    stderr: str


class Project:
    """A folder with experiments.toml and a runs directory, driven through the real CLI."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.runs = root / "runs"
        self.manifest = root / "experiments.toml"

    def write(self, text: str) -> None:
        self.manifest.write_text(text, encoding="utf-8")

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("DLTUI_RUN_DIR", None)
        env.pop("DLTUI_GPUS", None)
        env.update(extra)
        return env

    def cli(self, *args: str, timeout: float = 120, check: bool = False,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "dltui.tui.program", *args], cwd=self.root,
                              capture_output=True, text=True, timeout=timeout,
                              env=env or self.env())
        if check and done.returncode != 0:
            raise AssertionError(f"dltui {' '.join(args)} exited {done.returncode}:\n"
                                 f"{done.stdout}\n{done.stderr}")
        return done

    def invoke(self, *args: str, check: bool = False,
               env: dict[str, str] | None = None) -> CliResult:
        """The CLI in this process (Typer's runner): the same app, without an interpreter's
        start-up, for commands that run nothing (a real process is `cli`)."""
        from typer.testing import CliRunner

        from dltui.tui.cli import app

        before = os.getcwd()
        os.chdir(self.root)
        try:
            result = CliRunner().invoke(app, list(args), env=env or self.env(),
                                        catch_exceptions=True)
        finally:
            os.chdir(before)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        if check and result.exit_code != 0:
            raise AssertionError(f"dltui {' '.join(args)} exited {result.exit_code}:\n"
                                 f"{result.stdout}\n{result.stderr}")
        return CliResult(result.exit_code, result.stdout, result.stderr)

    def ps_json(self, *args: str) -> list[dict[str, object]]:
        return json.loads(self.cli("ps", "--format", "json", *args, check=True).stdout)

    def status_of(self, run_path: Path) -> dict[str, object]:
        try:
            return json.loads((run_path / "status.json").read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def run_to_success(self, experiment: str) -> Path:
        """`dltui run EXPERIMENT` to its end; its one run, checked to have succeeded."""
        self.cli("run", experiment, check=True, timeout=300)
        (run,) = self.run_paths(experiment)
        assert self.status_of(run)["state"] == "succeeded", (run / "output.log").read_text()
        return run

    def finished_run(self, experiment: str, run_id: str, params: dict[str, object],
                     **metrics: float) -> None:
        """A succeeded run of `experiment` whose metrics each have one value."""
        from dltui.store import rundir as rd

        spec = rd.RunSpec(run_id=run_id, experiment=experiment, argv=[], params=params,
                          cwd=str(self.root))
        rd.create_run_dir(self.runs, spec, state=rd.SUCCEEDED, started_at=1.0, ended_at=2.0,
                          metrics={name: {"last": value, "best": value, "count": 1}
                                   for name, value in metrics.items()})

    def run_paths(self, experiment: str) -> list[Path]:
        folder = self.runs / experiment
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


@pytest.fixture(scope="session")
def cluster() -> Iterator[slurm_cluster.Cluster]:
    """The test Slurm of `.ci/slurm-up`, or the test skipped saying why; kept for the
    session, since the time-limit run below outlives any one module."""
    with slurm_cluster.running() as found:
        yield found


@pytest.fixture(scope="session")
def slurm_time_limit_run(cluster: slurm_cluster.Cluster,
                         tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, Path]:
    """A Slurm run with a one-minute limit that sleeps for ever. Slurm looks at time
    limits every half minute, so it ends one to two minutes after it starts."""
    project = Project(tmp_path_factory.mktemp("timeout"))
    project.write(sleepy_on_slurm() + "\n[backends.slurm]\ntime = 1\ncpus_per_task = 1\n")
    project.cli("run", "sleepy", "-d", check=True)
    (path,) = project.run_paths("sleepy")
    return project, path


@pytest.fixture(scope="session", autouse=True)
def slurm_time_limit_run_submitted_first(request: pytest.FixtureRequest) -> None:
    """Submit the time-limit run as the session starts, where a test will want it and the
    test Slurm is up: its wait then passes under the tests before the Slurm ones."""
    wanted = any("slurm_time_limit_run" in item.fixturenames for item in request.session.items)
    if wanted and isinstance(slurm_cluster.find_cluster(), slurm_cluster.Cluster):
        try:
            request.getfixturevalue("slurm_time_limit_run")
        except (Exception, pytest.skip.Exception):
            pass  # kept by pytest, and reported by the test that wants the run, not here


def script(name: str) -> str:
    return str(SCRIPTS / name)


def sleepy_on_slurm() -> str:
    """The manifest section of `sleepy`: a Slurm run that sleeps until it is stopped,
    its pid in the file `pidfile` names."""
    return f"""
[experiments.sleepy]
command = ["{sys.executable}", "{script('sleeper.py')}", "{{pidfile}}"]
params = {{ pidfile = "sleeper.pid" }}
backend = "slurm"
"""


def records(run: Path) -> list[dict[str, Any]]:
    """Every record of a run's metrics.jsonl, in order."""
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def printed_sweep(prints: object, epochs: int, rates: str) -> str:
    """The manifest section of `printed`: the script `prints` over a learning-rate sweep
    (`rates`, as TOML lists them), `acc` its metric, with the report's labels."""
    return f"""
[experiments.printed]
command = ["{sys.executable}", "{prints}", "{{lr}}", "{{epochs}}"]
params = {{ epochs = {epochs} }}
sweep = {{ lr = [{rates}] }}
metric = "acc"
mode = "max"
labels = {{ lr = "Learning Rate", loss = "Training Loss", acc = "Valid. Acc." }}
"""


def tracked_experiment(name: str = "tracked", epochs: int = 3) -> str:
    """The manifest section of an experiment running scripts/tracked.py: `epochs` quick
    epochs that succeed, `val_acc` its metric."""
    return f"""
[experiments.{name}]
command = ["{sys.executable}", "{script('tracked.py')}"]
params = {{ lr = 0.1, epochs = {epochs}, delay = 0.01, fail = false }}
metric = "val_acc"
mode = "max"
"""


TRACKED = tracked_experiment()
