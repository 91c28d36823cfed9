"""The supervisor wakes on events, not polls: a queued run, a freed slot, a wrapper's exit.
Its wrappers are forked from it, outlive it, and leave no zombie behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import Project, wait_for
from dltui.queue.scheduler import supervisor_lock, supervisor_pid

PY = sys.executable
FINAL = ("succeeded", "failed", "killed", "lost")

QUICK = f"""
[settings]
max_parallel = 1

[experiments.quick]
command = ["{PY}", "-c", "print('ran {{n}}')"]
params = {{ n = 0 }}
gpus = 0
"""

# A supervisor of the test's own, with its intervals chosen: a poll of an hour can only
# be beaten by a wake-up.
SUPERVISE = """
import json, sys
from pathlib import Path
from dltui.queue.supervisor import supervise
supervise(Path(sys.argv[1]), **json.loads(sys.argv[2]))
"""


@pytest.fixture
def supervisors() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        proc.terminate()
        proc.wait(timeout=10)


def start_supervisor(project: Project, started: list[subprocess.Popen[bytes]],
                     **options: Any) -> subprocess.Popen[bytes]:
    project.runs.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([PY, "-c", SUPERVISE, str(project.runs), json.dumps(options)],
                            env=project.env(DLTUI_GPUS=""), start_new_session=True)
    started.append(proc)
    wait_for(lambda: supervisor_pid(project.runs) == proc.pid, what="the supervisor's lock")
    return proc


def queue_runs(project: Project, count: int) -> list[Path]:
    values = ",".join(str(n) for n in range(1, count + 1))
    project.cli("run", "quick", "--detach", "--set", f"n={values}", check=True,
                env=project.env(DLTUI_GPUS=""))
    paths = project.run_paths("quick")
    assert len(paths) == count
    return paths


def statuses(project: Project, paths: list[Path]) -> list[dict[str, Any]]:
    return [project.status_of(p) for p in paths]


def assert_ran_one_after_another(project: Project, paths: list[Path]) -> None:
    ended = statuses(project, paths)
    assert [s["state"] for s in ended] == ["succeeded"] * len(paths)
    by_start = sorted(ended, key=lambda s: s["started_at"])
    for before, after in zip(by_start, by_start[1:], strict=False):
        assert after["started_at"] >= before["ended_at"]  # max_parallel 1 held


def children_of(pid: int) -> list[tuple[int, str]]:
    """(pid, state) of every process whose parent is `pid`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if int(fields[1]) == pid:
            found.append((int(entry), fields[0]))
    return found


def all_ended(project: Project, paths: list[Path]) -> bool:
    return all(s.get("state") in FINAL for s in statuses(project, paths))


def test_queued_runs_start_as_slots_free_without_waiting_for_a_poll(
        project: Project, supervisors: list[subprocess.Popen[bytes]]) -> None:
    """Only the active-runs index wakes it (no SIGCHLD, polls an hour apart): a run queued
    after it started, and each run after the one before it ended."""
    project.write(QUICK)
    supervisor = start_supervisor(project, supervisors, poll=3600, safety_poll=3600,
                                  linger=3600, on_child_exit=False)
    paths = queue_runs(project, 3)
    wait_for(lambda: all_ended(project, paths), what="three runs, one after another")
    assert_ran_one_after_another(project, paths)
    assert supervisor.poll() is None  # the same supervisor ran them all


def test_a_wrapper_exiting_wakes_the_queue_where_folders_are_not_watched(
        project: Project, supervisors: list[subprocess.Popen[bytes]]) -> None:
    """Without inotify, SIGCHLD of the wrapper that ended starts the next run."""
    project.write(QUICK)
    with supervisor_lock(project.runs) as held:  # queued before any supervisor looks
        assert held
        paths = queue_runs(project, 3)
    start_supervisor(project, supervisors, poll=3600, safety_poll=3600, linger=3600,
                     watch_folders=False)
    wait_for(lambda: all_ended(project, paths), what="three runs, one after another")
    assert_ran_one_after_another(project, paths)


def test_the_polling_fallback_still_runs_a_queue(
        project: Project, supervisors: list[subprocess.Popen[bytes]]) -> None:
    project.write(QUICK)
    with supervisor_lock(project.runs) as held:
        assert held
        paths = queue_runs(project, 3)
    supervisor = start_supervisor(project, supervisors, poll=0.1, watch_folders=False,
                                  on_child_exit=False)
    wait_for(lambda: all_ended(project, paths), what="three runs by polling alone")
    assert_ran_one_after_another(project, paths)
    supervisor.wait(timeout=30)  # idle for its linger: it ends by itself
    assert supervisor.returncode == 0


def test_a_sweep_leaves_no_zombie(project: Project,
                                  supervisors: list[subprocess.Popen[bytes]]) -> None:
    """Each wrapper the supervisor forked is reaped when it exits (SIGCHLD), not at its
    next poll, an hour away; no run's process is left behind."""
    project.write(QUICK)
    supervisor = start_supervisor(project, supervisors, poll=3600, safety_poll=3600,
                                  linger=3600)
    paths = queue_runs(project, 5)
    wait_for(lambda: all_ended(project, paths), what="the sweep to end")
    assert_ran_one_after_another(project, paths)
    wait_for(lambda: children_of(supervisor.pid) == [], what="every wrapper reaped")
    for status in statuses(project, paths):
        for key in ("pid", "child_pid"):
            assert not Path(f"/proc/{status[key]}").exists()


def test_a_run_goes_on_and_records_its_end_when_its_supervisor_is_killed(
        project: Project, tmp_path: Path) -> None:
    go = tmp_path / "go"
    waits = tmp_path / "waits.py"
    waits.write_text("import os, sys, time\nwhile not os.path.exists(sys.argv[1]):\n"
                     "    time.sleep(0.02)\nprint('went on', flush=True)\n")
    project.write(f"""
[experiments.waits]
command = ["{PY}", "{waits}", "{go}"]
gpus = 0
""")
    project.cli("run", "waits", "--detach", check=True, env=project.env(DLTUI_GPUS=""))
    (path,) = project.run_paths("waits")
    wait_for(lambda: project.status_of(path).get("state") == "running", what="the run")
    supervisor = supervisor_pid(project.runs)
    assert supervisor is not None and supervisor > 0
    wrapper = int(project.status_of(path)["pid"])  # type: ignore[call-overload]
    assert wrapper != supervisor
    assert os.getsid(wrapper) == wrapper  # a session and process group of its own
    # Forked from the supervisor: not a fresh interpreter of the wrapper's module.
    assert b"dltui.queue.runner" not in Path(f"/proc/{wrapper}/cmdline").read_bytes()
    os.kill(supervisor, signal.SIGKILL)
    wait_for(lambda: not Path(f"/proc/{supervisor}").exists()
             or Path(f"/proc/{supervisor}/stat").read_text().split(") ")[1][0] == "Z",
             what="the supervisor to die")
    go.write_text("")
    wait_for(lambda: project.status_of(path).get("state") in FINAL, what="the run's end")
    status = project.status_of(path)
    assert (status["state"], status["exit_code"]) == ("succeeded", 0)
    assert "went on" in (path / "output.log").read_text()
    assert (path / "environment.json").exists()
