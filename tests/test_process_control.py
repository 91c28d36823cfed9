"""Stopping and killing: runs end in a final state, never stuck "running"."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

from conftest import Project, script, wait_for

PY = sys.executable


def sleeper_manifest(tmp: Path, max_parallel: int = 1) -> str:
    return f"""
[settings]
max_parallel = {max_parallel}
stop_grace = 2

[experiments.sleep]
command = ["{PY}", "{script('sleeper.py')}", "{tmp}/pid-{{n}}", "{{mode}}"]
params = {{ n = 0, mode = "normal" }}
"""


def start_detached(project: Project, *args: str) -> list[Path]:
    done = project.cli("run", "sleep", "--detach", *args, check=True)
    assert "queued" in done.stdout
    return project.run_paths("sleep")


def state(project: Project, path: Path) -> str:
    return str(project.status_of(path).get("state"))


def child_pid(tmp: Path, n: int) -> int:
    pid_file = tmp / f"pid-{n}"
    wait_for(lambda: pid_file.exists() and pid_file.read_text(), what="the script's pid")
    return int(pid_file.read_text())


def test_stop_terminates_the_process_group(project: Project, tmp_path: Path) -> None:
    project.write(sleeper_manifest(tmp_path))
    (path,) = start_detached(project)
    pid = child_pid(tmp_path, 0)
    wait_for(lambda: state(project, path) == "running", what="running")
    done = project.cli("stop", "sleep", check=True)
    assert "killed" in done.stdout
    assert project.status_of(path)["state"] == "killed"
    wait_for(lambda: not os.path.exists(f"/proc/{pid}"), what="the script to end")


def test_stop_escalates_to_sigkill_after_grace(project: Project, tmp_path: Path) -> None:
    project.write(sleeper_manifest(tmp_path))
    (path,) = start_detached(project, "--set", "mode=ignore-term")
    pid = child_pid(tmp_path, 0)
    done = project.cli("stop", "--all", "--grace", "0.5", check=True)
    assert "killed" in done.stdout
    wait_for(lambda: not os.path.exists(f"/proc/{pid}"), what="SIGKILL to land")
    assert state(project, path) == "killed"


def test_kill_9_of_the_script_marks_it_failed(project: Project, tmp_path: Path) -> None:
    project.write(sleeper_manifest(tmp_path))
    (path,) = start_detached(project)
    os.kill(child_pid(tmp_path, 0), signal.SIGKILL)
    wait_for(lambda: state(project, path) == "failed", what="failed")
    status = project.status_of(path)
    assert status["exit_code"] == -9 and "SIGKILL" in status["error"]


def test_kill_9_of_the_wrapper_is_seen_as_lost(project: Project, tmp_path: Path) -> None:
    project.write(sleeper_manifest(tmp_path))
    (path,) = start_detached(project)
    script_pid = child_pid(tmp_path, 0)
    wrapper = wait_for(lambda: project.status_of(path).get("pid_start")
                       and project.status_of(path)["pid"], what="the wrapper's pid")
    os.kill(int(wrapper), signal.SIGKILL)  # type: ignore[arg-type]
    rows = wait_for(lambda: [r for r in project.ps_json("--all") if r["state"] == "lost"],
                    what="ps to report the run lost")
    assert rows[0]["run"] == path.name  # type: ignore[index]
    # The script does not outlive its wrapper.
    wait_for(lambda: not os.path.exists(f"/proc/{script_pid}"), what="the orphan to end")
    assert project.ps_json() == []


def test_killed_supervisor_is_replaced_and_runs_go_on(project: Project, tmp_path: Path) -> None:
    project.write(sleeper_manifest(tmp_path))
    paths = start_detached(project, "--set", "n=1,2,3")
    assert len(paths) == 3
    wait_for(lambda: sum(state(project, p) == "running" for p in paths) == 1,
             what="the first run to start")
    lock = project.runs / ".supervisor.lock"
    supervisor = int(lock.read_text().strip())
    os.kill(supervisor, signal.SIGKILL)
    wait_for(lambda: not os.path.exists(f"/proc/{supervisor}")
             or "Z" in Path(f"/proc/{supervisor}/stat").read_text().split()[2],
             what="the supervisor to die")
    running = next(p for p in paths if state(project, p) == "running")
    first_pid = child_pid(tmp_path, json.loads((running / "run.json").read_text())
                          ["params"]["n"])
    # The running run is untouched; a later `dltui ps` finds the queue and resumes it.
    rows = project.ps_json()
    assert {r["state"] for r in rows} == {"running", "queued"}
    os.kill(first_pid, signal.SIGTERM)
    wait_for(lambda: sum(state(project, p) == "running" for p in paths) == 1
             and state(project, running) != "running", what="the next queued run to start")
    project.cli("stop", "--all", "--grace", "1", check=True)
    # A wrapper SIGKILLed after the grace period is recorded by the next reader.
    wait_for(lambda: all(state(project, p) in ("killed", "failed") for p in paths),
             timeout=15, what="every run to end")


def test_queued_run_can_be_cancelled(project: Project, tmp_path: Path) -> None:
    project.write(sleeper_manifest(tmp_path))
    paths = start_detached(project, "--set", "n=1,2")
    wait_for(lambda: any(state(project, p) == "running" for p in paths), what="one to start")
    queued = next(p for p in paths if state(project, p) == "queued")
    done = project.cli("stop", queued.name, check=True)
    assert "killed" in done.stdout
    assert "cancelled" in project.status_of(queued)["error"]
    project.cli("stop", "--all", "--grace", "1", check=True)
