"""Code snapshots: a queued run executes the code of queue time; the environment is
recorded; a tree over the limit or a snapshot that cannot be written queues nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Project, wait_for
from dltui.manifest import load_manifest
from dltui.queue.launch import launch

PY = sys.executable

WAITER = """import os, sys, time
while not os.path.exists(sys.argv[1]):
    time.sleep(0.05)
print("released")
"""

PRINTER = """import sys
from helper import VERSION
print(f"code {VERSION} lr={sys.argv[1]}")
print(open("data/numbers.txt").read().strip())
"""


def blocked_manifest(project: Project, extra: str = "") -> str:
    release = project.root / "release"
    return f"""
[settings]
max_parallel = 1

[experiments.blocker]
command = ["{PY}", "waiter.py", "{release}"]

[experiments.printer]
command = ["{PY}", "printer.py", "{{lr}}"]
sweep = {{ lr = [0.1, 0.2] }}
{extra}
"""


def write_code(project: Project, version: str) -> None:
    (project.root / "data").mkdir(exist_ok=True)
    (project.root / "data" / "numbers.txt").write_text("data here\n")
    (project.root / "waiter.py").write_text(WAITER)
    (project.root / "printer.py").write_text(PRINTER)
    (project.root / "helper.py").write_text(f'VERSION = "{version}"\n')


def wait_ended(project: Project, experiment: str, count: int) -> list[Path]:
    def ended() -> list[Path] | None:
        paths = project.run_paths(experiment)
        states = [project.status_of(p).get("state") for p in paths]
        return paths if len(paths) == count and all(
            s in ("succeeded", "failed", "killed", "lost") for s in states) else None

    found = wait_for(ended, timeout=60, what=f"{count} {experiment} runs to end")
    assert isinstance(found, list)
    return found


def git(folder: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
                        "PATH": "/usr/bin:/bin", "HOME": str(folder)})


def test_queued_runs_execute_the_code_of_queue_time(project: Project) -> None:
    project.write(blocked_manifest(project))
    write_code(project, "A")
    project.cli("run", "blocker", "--detach", check=True)
    project.cli("run", "printer", "--detach", check=True)
    # Edit the code, and the data, after queueing and before the runs start.
    (project.root / "helper.py").write_text('VERSION = "B"\n')
    (project.root / "printer.py").write_text(PRINTER.replace("code", "edited"))
    (project.root / "data" / "numbers.txt").write_text("data edited\n")
    (project.root / "release").write_text("go")
    runs = wait_ended(project, "printer", 2)
    for path in runs:
        log = (path / "output.log").read_text()
        assert project.status_of(path)["state"] == "succeeded", log
        assert "code A lr=" in log and "edited" not in log.split("\n")[0], log
        # Relative paths are read from the project folder: data is not code.
        assert "data edited" in log
    specs = [json.loads((p / "run.json").read_text()) for p in runs]
    assert specs[0]["snapshot"] and specs[0]["snapshot"] == specs[1]["snapshot"]
    stored = list((project.runs / ".snapshots").iterdir())
    assert len(stored) == 1  # a sweep shares one copy
    meta = json.loads((stored[0] / "snapshot.json").read_text())
    assert meta["kind"] == "folder" and "helper.py" in meta["files"]
    assert not any(name.startswith("runs/") for name in meta["files"])
    # A run queued now runs the edited code.
    project.cli("run", "printer", "--set", "lr=0.3", check=True)
    latest = project.run_paths("printer")[-1]
    assert "edited B lr=0.3" in (latest / "output.log").read_text()


def test_git_tree_snapshot_honours_gitignore_and_the_file_limit(project: Project) -> None:
    project.write(blocked_manifest(project))
    write_code(project, "A")
    (project.root / ".gitignore").write_text("runs/\ndata/\n")
    (project.root / "weights.bin").write_bytes(b"\0" * (1024 * 1024 + 1))
    git(project.root, "init", "-q")
    git(project.root, "add", ".gitignore", "printer.py", "waiter.py", "weights.bin",
        "experiments.toml")
    git(project.root, "commit", "-q", "-m", "first")
    # helper.py is untracked but not ignored: it is part of the code.
    project.cli("run", "printer", "--set", "lr=0.5", check=True)
    (path,) = project.run_paths("printer")
    assert "code A lr=0.5" in (path / "output.log").read_text()
    spec = json.loads((path / "run.json").read_text())
    meta = json.loads((project.runs / ".snapshots" / spec["snapshot"] / "snapshot.json")
                      .read_text())
    assert meta["kind"] == "git"
    assert set(meta["files"]) == {".gitignore", "experiments.toml", "helper.py", "printer.py",
                                  "waiter.py"}
    assert meta["left_out"] == [{"path": "weights.bin", "size": 1024 * 1024 + 1,
                                 "why": "over the file limit"}]
    assert meta["limits"]["max_file_bytes"] == 1024 * 1024


def test_a_tree_over_the_limit_is_refused_and_queues_nothing(project: Project) -> None:
    project.write(blocked_manifest(project).replace("max_parallel = 1", "max_parallel = 1\n"
                                                    "snapshot_limit_mb = 1"))
    write_code(project, "A")
    for n in range(3):
        (project.root / f"table{n}.csv").write_bytes(b"1," * 300_000)
    done = project.cli("run", "printer", "--detach")
    assert done.returncode == 2, done.stderr
    assert "over the limit of 5000 files, 1 MB" in done.stderr
    assert "fix:" in done.stderr and "snapshot = false" in done.stderr
    assert "Traceback" not in done.stderr
    assert project.run_paths("printer") == []


def test_snapshot_false_and_builtin_tasks_copy_nothing(project: Project) -> None:
    project.write(blocked_manifest(project, "snapshot = false") + """
[experiments.builtin]
task = "cnn"
""")
    write_code(project, "A")
    manifest = load_manifest(project.manifest)
    queued = launch(manifest=manifest, names=["printer", "builtin"], runs_dir=project.runs)
    specs = [json.loads(run.run_file.read_text()) for run in queued]
    assert [s["snapshot"] for s in specs] == [None, None, None]
    assert not (project.runs / ".snapshots").exists()


def test_a_snapshot_that_cannot_be_written_fails_the_launch(project: Project) -> None:
    project.write(blocked_manifest(project))
    write_code(project, "A")
    project.runs.mkdir()
    (project.runs / ".snapshots").write_text("not a folder")
    done = project.cli("run", "printer", "--detach")
    assert done.returncode == 2
    assert "cannot write the code snapshot" in done.stderr and "fix:" in done.stderr
    assert project.run_paths("printer") == []


def test_a_missing_snapshot_fails_the_run_rather_than_run_the_live_tree(
        project: Project) -> None:
    project.write(blocked_manifest(project))
    write_code(project, "A")
    project.cli("run", "blocker", "--detach", check=True)
    project.cli("run", "printer", "--set", "lr=1", "--detach", check=True)
    (path,) = project.run_paths("printer")
    snapshot = json.loads((path / "run.json").read_text())["snapshot"]
    import shutil

    shutil.rmtree(project.runs / ".snapshots" / snapshot)
    (project.root / "release").write_text("go")
    wait_ended(project, "printer", 1)
    status = project.status_of(path)
    assert status["state"] == "failed" and "snapshot" in str(status["error"])
    assert "code A" not in (path / "output.log").read_text()


def test_the_environment_is_recorded_names_not_values(project: Project) -> None:
    project.write(blocked_manifest(project, 'env = { SECRET_TOKEN = "hunter2" }'))
    write_code(project, "A")
    project.cli("run", "printer", "--set", "lr=1", check=True)
    (path,) = project.run_paths("printer")
    text = (path / "environment.json").read_text()
    assert "hunter2" not in text
    record = json.loads(text)
    assert record["python"] == ".".join(map(str, sys.version_info[:3]))
    assert record["interpreter"] == "the command's"
    assert "pytest" in record["packages"] and "textual" in record["packages"]
    import torch

    assert record["torch"]["version"] == torch.__version__
    assert record["torch"]["cuda"] == torch.version.cuda
    assert "SECRET_TOKEN" in record["env_given"] and "DLTUI_RUN_DIR" in record["env_given"]
    assert "PATH" in record["env_names"] and "PATH" not in record["env_given"]
    assert record["host"] and "gpus" in record and "driver" in record


def test_module_commands_import_from_the_snapshot(project: Project) -> None:
    project.write(blocked_manifest(project) + f"""
[experiments.module]
command = ["{PY}", "-m", "printer", "7", "data/weights.bin"]
""")
    write_code(project, "A")
    # A big file named after `-m module` is the module's argument, not the script.
    (project.root / "data" / "weights.bin").write_bytes(b"\0" * (2 * 1024 * 1024))
    project.cli("run", "blocker", "--detach", check=True)
    project.cli("run", "module", "--detach", check=True)
    (project.root / "helper.py").write_text('VERSION = "B"\n')
    (project.root / "release").write_text("go")
    (path,) = wait_ended(project, "module", 1)
    log = (path / "output.log").read_text()
    assert "code A lr=7" in log, log


def python_310() -> str | None:
    """A working Python 3.10 of this machine (on PATH, or installed by pyenv), if any."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    installed = sorted(str(p) for p in pyenv.glob("3.10.*/bin/python3.10"))
    for found in [shutil.which("python3.10"), *installed]:
        if found and subprocess.run([found, "-c", "pass"], capture_output=True).returncode == 0:
            return found
    return None


OLD_PYTHON = python_310()


@pytest.mark.skipif(OLD_PYTHON is None, reason="needs a Python 3.10 interpreter")
def test_another_interpreter_is_described_and_an_unsafe_module_run_refused(
        project: Project) -> None:
    project.write(f"""
[experiments.script]
command = ["{OLD_PYTHON}", "printer.py", "1"]

[experiments.module]
command = ["{OLD_PYTHON}", "-m", "printer", "2"]
""")
    write_code(project, "A")
    project.cli("run", "script", check=True)
    (path,) = project.run_paths("script")
    assert "code A lr=1" in (path / "output.log").read_text()
    record = json.loads((path / "environment.json").read_text())
    assert record["python"].startswith("3.10.") and record["executable"] == str(OLD_PYTHON)
    assert record["interpreter"] == "the command's"
    project.cli("run", "module")
    (path,) = project.run_paths("module")
    status = project.status_of(path)
    assert status["state"] == "failed" and "PYTHONSAFEPATH needs 3.11" in str(status["error"])
    assert "code A" not in (path / "output.log").read_text()


def test_an_ignored_script_is_refused_rather_than_run_live(project: Project) -> None:
    project.write(blocked_manifest(project))
    write_code(project, "A")
    (project.root / ".gitignore").write_text("runs/\nprinter.py\n")
    git(project.root, "init", "-q")
    done = project.cli("run", "printer", "--detach")
    assert done.returncode == 2
    assert "printer.py would not be in the run's code snapshot (ignored by git)" in done.stderr
    assert project.run_paths("printer") == []


def test_a_script_in_another_git_tree_is_copied_from_that_tree(
        project: Project, tmp_path_factory: pytest.TempPathFactory) -> None:
    code = tmp_path_factory.mktemp("code")
    (code / "printer.py").write_text(PRINTER)
    (code / "helper.py").write_text('VERSION = "A"\n')
    git(code, "init", "-q")
    project.write(f"""
[experiments.printer]
command = ["{PY}", "{code / 'printer.py'}", "1"]
""")
    (project.root / "data").mkdir()
    (project.root / "data" / "numbers.txt").write_text("project data\n")
    project.cli("run", "printer", check=True)
    (path,) = project.run_paths("printer")
    assert "code A lr=1" in (path / "output.log").read_text()
    spec = json.loads((path / "run.json").read_text())
    meta = json.loads((project.runs / ".snapshots" / spec["snapshot"] / "snapshot.json")
                      .read_text())
    assert meta["kind"] == "git" and meta["root"] == str(code.resolve())
    assert set(meta["files"]) == {"helper.py", "printer.py"}


FAKE_SMI = """#!/bin/sh
# Stands in for the driver's nvidia-smi: answers the environment record's query only.
case "$*" in
  *driver_version*) echo "0, NVIDIA H200, 550.54.15"; echo "1, NVIDIA H200, 550.54.15" ;;
esac
"""


def test_gpu_names_and_driver_come_from_nvidia_smi(project: Project, tmp_path: Path) -> None:
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "nvidia-smi").write_text(FAKE_SMI)
    (tools / "nvidia-smi").chmod(0o755)
    project.write(blocked_manifest(project))
    write_code(project, "A")
    env = project.env(PATH=f"{tools}:{os.environ['PATH']}")
    project.cli("run", "printer", "--set", "lr=1", env=env, check=True)
    (path,) = project.run_paths("printer")
    record = json.loads((path / "environment.json").read_text())
    assert record["gpus"] == [{"index": 0, "name": "NVIDIA H200"},
                              {"index": 1, "name": "NVIDIA H200"}]
    assert record["driver"] == "550.54.15"


def test_the_snapshot_key_and_limits_are_checked_in_the_manifest(project: Project) -> None:
    project.write(blocked_manifest(project, 'snapshot = "no"'))
    done = project.cli("validate")
    assert done.returncode == 2 and "snapshot must be true or false" in done.stderr
    assert "experiments.toml:" in done.stderr and "fix: write snapshot = false" in done.stderr
    project.write(blocked_manifest(project).replace("max_parallel = 1",
                                                    "snapshot_limit_mb = 0"))
    done = project.cli("validate")
    assert done.returncode == 2 and "settings.snapshot_limit_mb must be an integer >= 1" \
        in done.stderr


def test_the_snapshots_size_is_measured_once_each(project: Project) -> None:
    from dltui.snapshots.store import take_snapshot
    from dltui.store.disk import SIZES_FILE, tree_bytes
    from dltui.store.runs import RunStore
    from dltui.store.trash import snapshot_bytes

    store = RunStore(project.runs)
    assert snapshot_bytes(store) == 0  # no snapshots folder yet
    made = []
    for version in ("A", "B"):
        write_code(project, version * 1000)
        found = take_snapshot(cwd=project.root, argv=[PY, "printer.py"], runs_dir=project.runs)
        assert found is not None
        made.append(found)
    folder = project.runs / ".snapshots"
    each = {snap.id: tree_bytes(snap.path) for snap in made}
    assert snapshot_bytes(store) == sum(each.values())
    assert json.loads((folder / SIZES_FILE).read_text()) == each
    # What is kept is what is counted: a stored snapshot never changes.
    (folder / SIZES_FILE).write_text(json.dumps({made[0].id: 7, made[1].id: 8}))
    assert snapshot_bytes(store) == 15
    # A copy being made is measured as it is; a snapshot removed no longer counts.
    staging = folder / ".staging-0123"
    staging.mkdir()
    (staging / "part.py").write_text("x" * 500)
    shutil.rmtree(made[0].path)
    assert snapshot_bytes(store) == 8 + 500
    assert json.loads((folder / SIZES_FILE).read_text()) == {made[1].id: 8}
    # A damaged record is measured again.
    (folder / SIZES_FILE).write_bytes(os.urandom(64))
    assert snapshot_bytes(store) == each[made[1].id] + 500


def test_stored_content_is_found_without_a_copy_and_an_edit_gets_its_own(
        project: Project) -> None:
    from dltui.snapshots.store import take_snapshot

    write_code(project, "A")

    def snapshot() -> tuple[str, Path]:
        found = take_snapshot(cwd=project.root, argv=[PY, "printer.py"], runs_dir=project.runs)
        assert found is not None
        return found.id, found.path

    first, path = snapshot()
    folder = project.runs / ".snapshots"
    os.utime(path, (1.0, 1.0))
    before = folder.stat().st_mtime_ns
    # The same content again: found by its hash; no staging copy made in the store (its
    # folder's mtime would move), the stored one marked as in use for gc's grace.
    assert snapshot() == (first, path)
    assert folder.stat().st_mtime_ns == before
    assert path.stat().st_mtime > 1.0
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == [first]
    # An edit is a new snapshot, with the edited file in it.
    write_code(project, "B")
    second, second_path = snapshot()
    assert second != first
    assert (second_path / "files" / "helper.py").read_text() == 'VERSION = "B"\n'
    assert (path / "files" / "helper.py").read_text() == 'VERSION = "A"\n'
