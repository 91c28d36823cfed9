"""Bad input and damaged state: each case ends with a message that names the problem and
the fix (exit 2, no traceback), or shows the damage, and leaves every other run and the
manifest byte for byte as they were."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import Project, script, wait_for
from dltui.store import rundir as rd
from dltui.store.index import INDEX_FILE, INDEX_FORMAT

MANIFEST = """
[settings]
max_parallel = 1
stop_grace = 2

[experiments.printed]
command = ["{python}", "{prints}", "{{lr}}", "3", "0.01"]
params = {{ lr = 0.5 }}
metric = "acc"
mode = "max"

[experiments.slow]
command = ["{python}", "{sleeper}", "{{pidfile}}"]
params = {{ pidfile = "slow.pid" }}

[experiments.pre]
command = ["{python}", "{prints}", "0.1", "{{epochs}}", "0.01"]
params = {{ epochs = 2 }}

[experiments.after]
command = ["{python}", "{prints}", "0.2", "2", "0.01"]
needs = ["pre"]

[experiments.cnn]
task = "cnn"
params = {{ epochs = 1, train_count = 64 }}
"""


def write_manifest(project: Project, extra: str = "") -> None:
    project.write(MANIFEST.format(python=sys.executable, prints=script("prints.py"),
                                  sleeper=script("sleeper.py")) + extra)


def finished_run(project: Project, experiment: str, run_id: str, acc: float) -> rd.RunDir:
    """A succeeded run as the wrapper leaves one: spec, status, metrics."""
    spec = rd.RunSpec(run_id=run_id, experiment=experiment, argv=["python", "x.py"],
                      params={"lr": acc}, cwd=str(project.root), metric="acc", mode="max")
    run = rd.create_run_dir(project.runs, spec, state=rd.SUCCEEDED, started_at=1.0e9,
                            ended_at=1.0e9 + 60, exit_code=0,
                            metrics={"acc": {"last": acc, "best": acc, "count": 1}})
    run.metrics_file.write_text(json.dumps({"step": 1, "time": 1.0e9, "acc": acc}) + "\n")
    return run


def files_of(root: Path, *, leaving_out: Path | None = None) -> dict[str, bytes]:
    """Every file under `root` (caches that readers may rebuild excepted)."""
    found = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.name in (".finished.json", ".sizes.json", ".queue.json") \
                or path.name.endswith(".log") and path.parent == root:
            continue
        if leaving_out is not None and leaving_out in path.parents:
            continue
        found[str(path.relative_to(root))] = path.read_bytes()
    return found


def _stamp(run: Path) -> int:
    return (run / "status.json").stat().st_mtime_ns


CACHE_DAMAGES: dict[str, Callable[[list[Path]], bytes]] = {
    "random bytes": lambda runs: os.urandom(2048),
    "not an object": lambda runs: b"[1, 2]",
    "entries of other shapes": lambda runs: json.dumps(
        {runs[0].name: ["stamp", "size"],
         runs[1].name: {"mtime": _stamp(runs[1]), "spec": 5, "status": []}}).encode(),
    "current stamps, values of another type": lambda runs: json.dumps(
        {run.name: [_stamp(run), "1 GB"] for run in runs}).encode(),
    "this version's layout, entries of other shapes": lambda runs: json.dumps(
        {"format": INDEX_FORMAT, "runs": {
            runs[0].name: ["stamp", "size"],
            runs[1].name: {"mtime": _stamp(runs[1]), "spec": 5, "status": []}}}).encode(),
}


@pytest.mark.parametrize("case", sorted(CACHE_DAMAGES))
def test_damaged_caches_of_a_runs_folder_are_read_again(world: Project, case: str) -> None:
    """The index and the sizes kept beside the runs are caches: damaged, each run is read
    and measured again, and the listing is the same as from undamaged caches."""
    folder = world.runs / "printed"
    runs = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    expected = json.loads(world.cli("ps", "--all", "-f", "json", check=True).stdout)
    table = world.cli("ps", "--all", check=True).stdout
    before, manifest = files_of(world.runs), world.manifest.read_bytes()
    for cache in (".finished.json", ".sizes.json"):
        (folder / cache).write_bytes(CACHE_DAMAGES[case](runs))
    assert json.loads(world.cli("ps", "--all", "-f", "json", check=True).stdout) == expected
    for cache in (".finished.json", ".sizes.json"):  # damaged again, for the table
        (folder / cache).write_bytes(CACHE_DAMAGES[case](runs))
    assert world.cli("ps", "--all", check=True).stdout == table
    assert all(isinstance(row["disk"], int) and row["disk"] > 0 for row in expected)
    assert_untouched(world, before, manifest)


def test_an_index_of_another_dltui_version_is_rebuilt_not_read(world: Project) -> None:
    """Entries are trusted as they are: an index that another version of dltui wrote
    (a runs folder shared by two installs) is rebuilt from the runs."""
    folder = world.runs / "printed"
    expected = json.loads(world.cli("ps", "--all", "-f", "json", check=True).stdout)
    index = json.loads((folder / INDEX_FILE).read_text())
    assert index["format"] == INDEX_FORMAT and len(index["runs"]) == 2
    # Current stamps, well-formed entries that say something else: as a version whose
    # fields changed meaning might write them.
    for entry in index["runs"].values():
        entry["status"]["state"] = "failed"
        entry["summary"] = {"acc": 0.01}
    for other in (INDEX_FORMAT + 1, INDEX_FORMAT - 1, None):
        (folder / INDEX_FILE).write_text(json.dumps({**index, "format": other}))
        assert json.loads(world.cli("ps", "--all", "-f", "json", check=True).stdout) == expected
        assert json.loads((folder / INDEX_FILE).read_text())["format"] == INDEX_FORMAT
    # The same entries under this version's number are taken as they are: the number is
    # what keeps them out.
    (folder / INDEX_FILE).write_text(json.dumps(index))
    shown = json.loads(world.cli("ps", "--all", "-f", "json", check=True).stdout)
    assert {row["state"] for row in shown} == {"failed"}


@pytest.fixture
def world(project: Project) -> Iterator[Project]:
    """A project with a manifest and two finished runs that every case must leave alone."""
    write_manifest(project)
    finished_run(project, "printed", "20260101-000000-aaaa", 0.6)
    finished_run(project, "printed", "20260101-000001-bbbb", 0.8)
    yield project
    project.cli("stop", "--all", "--grace", "1")


def assert_clean_failure(done: object, *words: str) -> None:
    code, out, err = done.returncode, done.stdout, done.stderr  # type: ignore[attr-defined]
    assert code == 2, f"exit {code}\n{out}\n{err}"
    assert "Traceback" not in out + err
    assert "fix:" in err, err
    for word in words:
        assert word in err, err


def assert_untouched(project: Project, before: dict[str, bytes], manifest: bytes,
                     *, leaving_out: Path | None = None) -> None:
    assert project.manifest.read_bytes() == manifest
    assert files_of(project.runs, leaving_out=leaving_out) == before


# ---- one damaged run is one `damaged` run --------------------------------------------------

DAMAGES = {
    "status random bytes": ("status.json", os.urandom(4096)),
    "status wrong types": ("status.json", b'{"state": 5, "started_at": "x", "ended_at": []}'),
    "status unknown state": ("status.json", b'{"state": "exploded"}'),
    "status empty": ("status.json", b""),
    "status cut short": ("status.json", b'{"state": "succeeded", "exit_co'),
    "spec wrong types": ("run.json", b'{"run_id": 5, "experiment": [], "argv": "x"}'),
    "spec not an object": ("run.json", b"[1, 2, 3]"),
    "spec random bytes": ("run.json", os.urandom(512)),
}


@pytest.mark.parametrize("case", sorted(DAMAGES))
def test_a_damaged_run_file_is_one_damaged_run(world: Project, case: str) -> None:
    file_name, content = DAMAGES[case]
    victim = finished_run(world, "printed", "20260101-000002-cccc", 0.7)
    (victim.path / file_name).write_bytes(content)
    before = files_of(world.runs)
    manifest = world.manifest.read_bytes()
    rows = json.loads(world.invoke("ps", "--all", "--format", "json", check=True).stdout)
    by_id = {row["run"]: row for row in rows}
    assert by_id["20260101-000002-cccc"]["state"] == "damaged"
    assert file_name in str(by_id["20260101-000002-cccc"]["error"])
    assert "rm -r" in str(by_id["20260101-000002-cccc"]["error"])  # how to get rid of it
    assert {by_id[r]["state"] for r in ("20260101-000000-aaaa", "20260101-000001-bbbb")} == \
        {"succeeded"}
    table = world.invoke("ps", "--all", check=True).stdout
    assert "damaged" in table and table.count("succeeded") == 2
    compared = json.loads(world.invoke("compare", "printed", "--format", "json",
                                       check=True).stdout)
    assert [row["run"] for row in compared][:2] == ["20260101-000001-bbbb",
                                                    "20260101-000000-aaaa"]
    listed = json.loads(world.invoke("list", "--format", "json", check=True).stdout)
    assert {row["name"]: row["best"] for row in listed}["printed"] == 0.8
    report = world.invoke("report", "printed", "-o", str(world.root / "report"))
    assert report.returncode == 0, report.stdout + report.stderr
    requeued = world.invoke("requeue", "printed/20260101-000002-cccc")
    assert_clean_failure(requeued, "damaged")
    removed = world.invoke("rm", "printed/20260101-000002-cccc")
    assert_clean_failure(removed, "is damaged", "rm -r")
    assert_untouched(world, before, manifest)


def test_the_dashboard_opens_beside_a_damaged_run(world: Project) -> None:
    import asyncio

    from dltui.manifest import load_manifest
    from dltui.tui.app import make_app
    from dltui.tui.widgets.virtual_table import VirtualTable

    victim = finished_run(world, "printed", "20260101-000002-cccc", 0.7)
    victim.status_file.write_bytes(os.urandom(2048))
    app = make_app(manifest=load_manifest(world.manifest), runs_dir=world.runs,
                   cursor_blink=False, query_gpus=lambda: [])

    async def scenario() -> None:
        async with app.run_test(size=(160, 40)) as pilot:
            await pilot.press("2")
            rows: list = []
            for _ in range(200):
                rows = list(app.screen.query_one(VirtualTable).rows)
                if len(rows) == 3:
                    break
                await pilot.pause(0.05)
            states = sorted(" ".join(map(str, row.cells)) for row in rows)
            assert len(rows) == 3, states
            assert sum("damaged" in s for s in states) == 1
            assert sum("succeeded" in s for s in states) == 2

    asyncio.run(asyncio.wait_for(scenario(), 60))


# ---- a full disk, a read-only folder, a file for a folder -----------------------------------

@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs, mounted for the test (root only: CI runs as root)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill(folder: Path) -> None:
    """Take every byte left on the disk holding `folder`."""
    with open(folder / "filler", "wb", buffering=0) as out:
        for size in (65536, 4096, 512, 1):
            try:
                while True:
                    out.write(b"\0" * size)
            except OSError:
                pass


def test_a_run_that_fills_the_disk_says_so_and_readers_need_no_space(
        world: Project, small_disk: Path) -> None:
    runs = small_disk / "runs"
    filler = world.root / "fill.py"
    # Prints its loss, then fills the disk with a checkpoint as training would, and dies of it.
    filler.write_text("import os\nprint('loss: 1.0', flush=True)\n"
                      "with open(os.environ['DLTUI_RUN_DIR'] + '/artifacts/ckpt', 'wb') as out:\n"
                      "    while True:\n        print('x' * 1000, flush=True)\n"
                      "        out.write(b'0' * 65536)\n        out.flush()\n")
    write_manifest(world, f'\n[experiments.filler]\ncommand = ["{sys.executable}", '
                   f'"{filler}"]\n')
    done = world.cli("run", "filler", "--runs", str(runs), timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stdout + done.stderr
    (path,) = sorted((runs / "filler").iterdir())
    status = json.loads((path / "status.json").read_text())
    assert status["state"] == "failed" and "is full" in status["error"]
    fill(small_disk)
    # The disk is full: listing, comparing and the index need no space.
    for args in (("ps", "--all"), ("compare", "filler"), ("list",)):
        shown = world.cli(*args, "--runs", str(runs))
        assert shown.returncode == 0, shown.stdout + shown.stderr
    queued = world.cli("run", "printed", "--detach", "--runs", str(runs))
    assert_clean_failure(queued, "No space left on device", str(runs))
    assert not (runs / "printed").exists() or not any((runs / "printed").iterdir())


def test_a_read_only_runs_folder_lists_and_refuses_to_queue(world: Project,
                                                           tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("a read-only bind mount needs root (CI runs as root)")
    # A run whose wrapper died: a reader would record it lost, and here cannot.
    dead = finished_run(world, "printed", "20260101-000003-dddd", 0.5)
    dead.write_status(state=rd.RUNNING, pid=2 ** 22 - 7, pid_start=1, host=socket.gethostname(),
                      ended_at=None, started_at=time.time() - 5)
    from dltui.store.active import mark_active

    mark_active(world.runs, dead.path)
    view = tmp_path / "read-only"
    view.mkdir()
    bound = subprocess.run(["mount", "--bind", str(world.runs), str(view)],
                           capture_output=True, text=True)
    if bound.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {bound.stderr.strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(view)], check=True)
        before = files_of(world.runs)
        for args in (("ps",), ("ps", "--all"), ("compare", "printed"), ("list",),
                     ("logs", "printed")):
            shown = world.cli(*args, "--runs", str(view))
            assert shown.returncode == 0 and "Traceback" not in shown.stderr, shown.stderr
        rows = {r["run"]: r for r in json.loads(world.cli(
            "ps", "--all", "--format", "json", "--runs", str(view), check=True).stdout)}
        assert rows[dead.run_id]["state"] == "lost"  # shown as it is, though not recorded
        queued = world.cli("run", "printed", "--detach", "--runs", str(view))
        assert_clean_failure(queued, "Read-only file system")
        assert files_of(world.runs) == before
    finally:
        subprocess.run(["umount", "-l", str(view)], capture_output=True)


@pytest.mark.parametrize("args", [("ps",), ("ps", "--all"), ("compare",), ("list",),
                                  ("logs", "x"), ("stop", "x"), ("requeue", "x"),
                                  ("report", "printed"), ("tb",), ("run", "printed")])
def test_a_file_given_as_the_runs_folder(world: Project, args: tuple[str, ...]) -> None:
    not_a_dir = world.root / "runs.txt"
    not_a_dir.write_text("notes\n")
    before, manifest = files_of(world.runs), world.manifest.read_bytes()
    done = world.invoke(*args, "--runs", str(not_a_dir))
    assert_clean_failure(done, "is a file, not a directory")
    assert not_a_dir.read_text() == "notes\n"
    assert_untouched(world, before, manifest)


# ---- the manifest and --set are checked before anything is queued ---------------------------

BAD_MANIFESTS = {
    "ten million runs": ('[experiments.huge]\ncommand = ["x", "{a}"]\nsweep = { '
                         + ", ".join(f"{k} = [{', '.join(str(i) for i in range(10))}]"
                                     for k in "abcdefg") + " }\n", "10,000,000 runs"),
    "NUL in command": ('[experiments.n]\ncommand = ["x\\u0000y"]\n', "NUL"),
    "NUL in env": ('[experiments.n]\ncommand = ["x"]\nenv = { A = "1\\u0000" }\n', "NUL"),
    "NUL in a param": ('[experiments.n]\ncommand = ["x"]\nparams = { p = "\\u0000" }\n',
                       "NUL"),
    "env name with =": ('[experiments.n]\ncommand = ["x"]\nenv = { "A=B" = "1" }\n',
                        "not a variable name"),
    "unknown top-level key": ('modelz = 5\n[experiments.n]\ncommand = ["x"]\n',
                              "unknown top-level key 'modelz'"),
    "models not a table": ('models = 5\n[experiments.n]\ncommand = ["x"]\n', "[models]"),
    "infinite stop_grace": ('[settings]\nstop_grace = inf\n[experiments.n]\n'
                            'command = ["x"]\n', "stop_grace"),
    "unknown task setting": ('[experiments.n]\ntask = "cnn"\nparams = { epoch = 1 }\n',
                             "did you mean 'epochs'"),
    "task setting of the wrong type": ('[experiments.n]\ntask = "cnn"\nparams = '
                                       '{ lr = "fast" }\n', "setting lr"),
}


@pytest.mark.parametrize("case", sorted(BAD_MANIFESTS))
def test_a_bad_manifest_is_refused_before_anything_runs(project: Project, case: str) -> None:
    text, words = BAD_MANIFESTS[case]
    project.write(text)
    done = project.cli("validate", timeout=30)  # a sweep is counted, never built
    assert_clean_failure(done, words)
    name = text.split("[experiments.")[1].split("]")[0]
    done = project.invoke("run", name, "--detach")
    assert_clean_failure(done, words)
    assert not project.runs.exists() or not any(project.runs.rglob("run.json"))


def test_runs_dir_with_a_tilde_is_the_home_folder(project: Project, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    project.write(f'[settings]\nruns_dir = "~/dl-runs"\n[experiments.p]\ncommand = '
                  f'["{sys.executable}", "{script("prints.py")}", "0.1", "1", "0"]\n')
    project.cli("run", "p", env=project.env(HOME=str(home)), check=True)
    assert len(list((home / "dl-runs" / "p").iterdir())) == 1
    assert not (project.root / "~").exists()


@pytest.mark.parametrize(("sets", "words"), [
    (("epoch=1",), "did you mean 'epochs'"),
    (("lr=abc",), "setting lr is 'abc'"),
    (("epochs=1.5",), "setting epochs"),
    (("lr=0.1,fast",), "setting lr is 'fast'"),
])
def test_set_typos_and_types_end_at_launch(world: Project, sets: tuple[str, ...],
                                           words: str) -> None:
    before, manifest = files_of(world.runs), world.manifest.read_bytes()
    args = [arg for pair in sets for arg in ("--set", pair)]
    done = world.invoke("run", "cnn", "--detach", *args)
    assert_clean_failure(done, words)
    assert not (world.runs / "cnn").exists()
    assert_untouched(world, before, manifest)


def test_a_launch_says_what_it_runs_first(world: Project) -> None:
    done = world.cli("run", "after", "--detach", check=True)
    lines = done.stdout.splitlines()
    assert lines[0].startswith("first  pre/") and lines[0].endswith("epochs=2")
    assert lines[1].startswith("queued after/")


# ---- one rule for experiment names ----------------------------------------------------------

def test_stop_of_an_experiment_stops_every_active_run_of_it(world: Project) -> None:
    world.write(world.manifest.read_text().replace("max_parallel = 1", "max_parallel = 3"))
    done = world.cli("run", "slow", "--detach", "--set", "pidfile=a.pid,b.pid,c.pid",
                     check=True)
    assert done.stdout.count("queued slow/") == 3
    wait_for(lambda: sum(r["state"] == "running" for r in world.ps_json()) == 3,
             what="three runs running")
    stopped = world.cli("stop", "slow", "--grace", "1", check=True)
    assert "slow: stopping 3 active runs" in stopped.stdout
    assert {r["state"] for r in world.ps_json("--all") if r["experiment"] == "slow"} == \
        {"killed"}


@pytest.mark.parametrize("ref", ["../project", "./printed", ".trash/printed",
                                 "printed/../../project", "/printed", ".active/x"])
def test_a_run_reference_never_names_a_folder_outside_the_runs(world: Project,
                                                                ref: str) -> None:
    (world.root / "project").mkdir()  # beside the runs folder: no command may take it
    (world.root / "project" / "code.py").write_text("x = 1\n")
    before, manifest = files_of(world.root), world.manifest.read_bytes()
    for command in ("rm", "logs", "requeue", "note"):
        done = world.cli(command, ref, *(["text"] if command == "note" else []))
        assert_clean_failure(done, "no run matches")
    assert files_of(world.root) == before and world.manifest.read_bytes() == manifest


ENTRY_DAMAGES = {
    "binary bytes": b"\xff\xfe\x00printed",
    "empty": b"",
    "a path outside the runs": b"/etc",
    "up and out": b"../../elsewhere/x",
    "another experiment's name": b"printed/not-this-run",
}


@pytest.mark.parametrize("case", sorted(ENTRY_DAMAGES))
def test_a_damaged_entry_of_the_active_index_is_found_again_by_its_run_id(
        world: Project, case: str) -> None:
    """`.active/<run-id>` says where a live run is. Damaged, the run is found by its id,
    and nothing outside its folder is ever shown as a run, nor offered for `rm -r`."""
    world.cli("run", "slow", "--detach", "--set", "pidfile=a.pid", check=True)
    (run,) = world.run_paths("slow")
    wait_for(lambda: world.status_of(run).get("state") == "running", what="the run to start")
    (world.runs / ".active" / run.name).write_bytes(ENTRY_DAMAGES[case])
    (world.runs / ".active" / "20260101-000009-gone").write_bytes(ENTRY_DAMAGES[case])
    before = files_of(world.runs, leaving_out=run)  # the live run's files change
    manifest = world.manifest.read_bytes()
    done = world.cli("ps", check=True)
    assert done.stdout.splitlines()[1].split()[:3] == [run.name, "slow", "running"]
    assert len(done.stdout.splitlines()) == 2 and "rm -r" not in done.stdout + done.stderr
    assert [r["run"] for r in world.ps_json()] == [run.name]
    assert_untouched(world, before, manifest, leaving_out=run)
    stopped = world.cli("stop", "--all", "--grace", "1", check=True)
    assert world.status_of(run)["state"] == "killed", stopped.stdout + stopped.stderr


def test_logs_of_a_queued_run_says_what_it_waits_for(world: Project) -> None:
    world.cli("run", "slow", "--detach", check=True)
    wait_for(lambda: any(r["state"] == "running" for r in world.ps_json()), what="slow runs")
    world.cli("run", "printed", "--detach", check=True)  # waits behind slow (max_parallel 1)
    done = world.invoke("logs", "printed")
    assert done.returncode == 0 and "is queued" in done.stderr and "free slot" in done.stderr
    follower = subprocess.Popen([sys.executable, "-m", "dltui.tui.program", "logs", "printed",
                                 "-f"], cwd=world.root, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=world.env())
    time.sleep(1)
    world.cli("stop", "slow", "--grace", "1", check=True)
    out, err = follower.communicate(timeout=60)
    assert "is queued" in err and "following it" in err
    assert "epoch 3/3" in out and out.rstrip().endswith("done")


def test_a_stop_during_start_wins(world: Project) -> None:
    from dltui.manifest import load_manifest
    from dltui.queue.launch import launch
    from dltui.queue.scheduler import supervisor_lock

    world.runs.mkdir(parents=True, exist_ok=True)
    with supervisor_lock(world.runs) as held:  # no supervisor: this test starts the run
        assert held
        (run,) = launch(manifest=load_manifest(world.manifest), names=["printed"],
                        runs_dir=world.runs)
        assert run.change_status_if((rd.QUEUED,), state=rd.STARTING, gpu_ids=[]) is not None
        stopper = subprocess.Popen([sys.executable, "-m", "dltui.tui.program", "stop",
                                    f"printed/{run.run_id}", "--grace", "5"], cwd=world.root,
                                   stdout=subprocess.PIPE, text=True, env=world.env())
        wait_for(run.stop_requested, what="the stop to be asked")
        code = subprocess.call([sys.executable, "-m", "dltui.queue.runner", str(run.path)],
                               env=world.env())
        assert code == 0
        out, _ = stopper.communicate(timeout=60)
    status = run.status()
    assert status.state == rd.KILLED and "before it started" in str(status.error)
    assert "epoch" not in (run.log_file.read_text() if run.log_file.exists() else "")
    assert f"printed/{run.run_id}: killed" in out


def test_tb_on_a_taken_port_says_so_and_serves_elsewhere(world: Project) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        board = subprocess.Popen([sys.executable, "-m", "dltui.tui.program", "tb", "printed",
                                  "--port", str(port)], cwd=world.root, env=world.env(),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            assert board.stderr is not None
            first, second = board.stderr.readline(), board.stderr.readline()
        finally:
            board.terminate()
            board.wait(timeout=30)
    assert f"port {port} is taken" in first
    serving = int(first.rsplit(" ", 1)[1])
    assert serving != port and f"http://127.0.0.1:{serving}/ (2 runs)" in second


def test_env_values_land_in_a_file_only_the_owner_reads(world: Project) -> None:
    write_manifest(world, f'\n[experiments.secret]\ncommand = ["{sys.executable}", "-c", '
                   '"import os; print(\'token=\' + os.environ[\'API_TOKEN\'])"]\n'
                   'env = { API_TOKEN = "s3cr3t" }\n')
    world.cli("run", "secret", check=True)
    (path,) = world.run_paths("secret")
    assert "s3cr3t" not in (path / "run.json").read_text()
    assert oct((path / "env.json").stat().st_mode & 0o777) == "0o600"
    assert "token=s3cr3t" in (path / "output.log").read_text()
