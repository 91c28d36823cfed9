"""Notifications: apprise's json:// schema to a real HTTP endpoint on 127.0.0.1, a
message per run and one per sweep, a failing endpoint logged without failing the run,
NaN in the metric, the dashboard's toast when a run it watched ends."""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from conftest import TRACKED, Project, script, wait_for
from dltui.errors import ManifestError
from dltui.manifest import parse_manifest
from dltui.procs import hostname, process_start_ticks
from dltui.store import rundir as rd
from dltui.store.active import mark_active
from dltui.store.runs import RunStore
from dltui.tui.catalog import RunCatalog
from dltui.tui.run_endings import RunEndings

PY = sys.executable


class Endpoint:
    """An HTTP server that keeps every JSON body POSTed to it; answers `code`."""

    def __init__(self, code: int = 200) -> None:
        self.bodies: list[dict[str, Any]] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length", 0))
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(code)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    found = Endpoint()
    yield found
    found.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def manifest(notify: list[str], extra: str = "") -> str:
    return f"""
[settings]
max_parallel = 2
notify = {json.dumps(notify)}
""" + TRACKED + extra + "\n"


def notify_log(project: Project) -> list[str]:
    path = project.runs / ".notify.log"
    return path.read_text().splitlines() if path.exists() else []


def test_each_run_and_the_sweep_send_a_message(project: Project, endpoint: Endpoint) -> None:
    project.write(manifest([endpoint.url]))
    done = project.cli("run", "tracked", "--set", "fail=true,false")
    assert done.returncode == 1  # one run failed
    wait_for(lambda: len(endpoint.bodies) >= 3, timeout=20, what="three messages")
    titles = sorted(body["title"] for body in endpoint.bodies)
    paths = project.run_paths("tracked")
    by_state = {project.status_of(p)["state"]: p for p in paths}
    failed, ok = by_state["failed"], by_state["succeeded"]
    assert f"dltui: tracked/{failed.name} FAILED" in titles
    assert f"dltui: tracked/{ok.name} finished" in titles
    sweep = [b for b in endpoint.bodies if "sweep" in b["title"]]
    assert len(sweep) == 1 and "1 failed, 1 succeeded" in sweep[0]["title"]
    assert f"ssh {hostname()} -t dltui compare tracked --runs {project.runs}" \
        in sweep[0]["message"]
    assert f"best val_acc: 0.53 (tracked/{ok.name})" in sweep[0]["message"]
    failure = next(b for b in endpoint.bodies if failed.name in b["title"])
    assert "exited with code 3" in failure["message"]
    assert f"ssh {hostname()} -t dltui logs tracked/{failed.name} --runs {project.runs}" \
        in failure["message"]
    assert failure["type"] == "failure"
    # Each delivery is logged once it is made: the last may land just after its message.
    wait_for(lambda: len([line for line in notify_log(project)
                          if " sent json://127.0.0.1:" in line]) == 3, timeout=20,
             what="three deliveries logged")


def test_a_failing_endpoint_is_one_log_line_and_the_run_succeeds(project: Project) -> None:
    refusing = Endpoint(code=500)
    dead = free_port()  # nothing listens there
    try:
        project.write(manifest([refusing.url]))
        project.cli("run", "tracked", "--notify", f"json://127.0.0.1:{dead}/x", check=True)
        (path,) = project.run_paths("tracked")
        status = project.status_of(path)
        assert status["state"] == "succeeded" and status["notify"] == [
            f"json://127.0.0.1:{dead}/x"]
        lines = wait_for(lambda: len(notify_log(project)) >= 2 and notify_log(project),
                         timeout=20, what="two log lines")
        assert len(refusing.bodies) == 1  # it was asked, and said no
    finally:
        refusing.close()
    failed = [line for line in lines if " failed " in line]  # type: ignore[union-attr]
    assert len(failed) == 2, lines
    assert any(f"json://127.0.0.1:{refusing.port} (tracked/{path.name} succeeded)" in line
               for line in failed)
    assert any(f"json://127.0.0.1:{dead} " in line for line in failed)


def test_nan_in_the_metric_sends_word_while_the_run_goes_on(project: Project,
                                                           endpoint: Endpoint) -> None:
    project.write(f"""
[experiments.blows-up]
command = ["{PY}", "{script('holds_memory.py')}"]
params = {{ mb_parent = 1, mb_child = 1, seconds = 1.2, loss = nan }}
metric = "train_loss"
""")
    project.cli("run", "blows-up", "--notify", endpoint.url, check=True,
                env=project.env(DLTUI_SYS_INTERVAL="0.2"))
    wait_for(lambda: len(endpoint.bodies) >= 2, timeout=20, what="two messages")
    alerts = [b for b in endpoint.bodies if "train_loss = nan" in b["title"]]
    assert len(alerts) == 1, endpoint.bodies  # once, not once a step
    assert "still running" in alerts[0]["message"] and "dltui stop" in alerts[0]["message"]
    assert any(b["title"].endswith(" finished") for b in endpoint.bodies)


EXPERIMENT = '[experiments.a]\ncommand = ["true"]\n'


def test_bad_notify_urls_are_refused_before_anything_runs(project: Project) -> None:
    project.write(manifest([]))
    done = project.cli("run", "tracked", "--notify", "nosuchscheme://x")
    assert done.returncode == 2 and "not a notification URL apprise knows" in done.stderr
    assert "Traceback" not in done.stderr and project.run_paths("tracked") == []
    with pytest.raises(ManifestError, match="settings.notify must be a list"):
        parse_manifest('[settings]\nnotify = "ntfy://x"\n' + EXPERIMENT,
                       path=Path("experiments.toml"))
    assert parse_manifest('[settings]\nnotify = ["ntfy://x"]\n' + EXPERIMENT,
                          path=Path("experiments.toml")).settings.notify == ["ntfy://x"]


def test_the_dashboard_hears_of_a_run_it_watched_ending(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    spec = rd.RunSpec(run_id="20260101-000000-aaaa", experiment="exp", argv=["x"], params={},
                      cwd=str(tmp_path))
    run = rd.create_run_dir(runs, spec, state=rd.RUNNING, started_at=1.0, pid=os.getpid(),
                            pid_start=process_start_ticks(os.getpid()), host=hostname())
    mark_active(runs, run.path)
    catalog = RunCatalog(RunStore(runs))
    catalog.scan()
    catalog.poll()
    endings = RunEndings()
    assert endings.check(catalog.snapshot()) == []
    run.write_status(state=rd.FAILED, ended_at=2.0, exit_code=1, error="exited with code 1")
    catalog.poll()
    catalog.scan()
    (ended,) = endings.check(catalog.snapshot())
    assert ended.text == f"exp/{run.run_id} failed: exited with code 1" and ended.failed
    assert endings.check(catalog.snapshot()) == []  # told once


def test_the_dashboard_shows_a_toast_when_a_watched_run_ends(project: Project) -> None:
    import asyncio
    import time

    from dltui.manifest import load_manifest
    from dltui.queue.launch import launch
    from dltui.queue.scheduler import ensure_supervisor
    from dltui.tui.app import make_app

    project.write(manifest([]))
    loaded = load_manifest(project.manifest)
    app = make_app(manifest=loaded, runs_dir=project.runs, cursor_blink=False,
                   query_gpus=lambda: [])

    async def scenario() -> None:
        async with app.run_test(size=(120, 30)) as pilot:
            (run,) = launch(manifest=loaded, names=["tracked"], runs_dir=project.runs,
                            overrides={"delay": [0.7]})
            ensure_supervisor(project.runs)
            ref = f"tracked/{run.run_id}"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                shown = [n.message for n in app._notifications]
                if f"{ref} succeeded" in shown:
                    return
                await pilot.pause(0.05)
            raise AssertionError(f"no toast for {ref}: {shown}")

    asyncio.run(asyncio.wait_for(scenario(), 90))
