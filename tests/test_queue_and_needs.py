"""The queue: one run per GPU, the rest waiting; CPU runs see no GPU; needs run first."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from conftest import Project, script, tracked_experiment, wait_for

PY = sys.executable


def environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def test_one_run_per_gpu_rest_queued(project: Project, tmp_path: Path) -> None:
    project.write(f"""
[experiments.gpu]
command = ["{PY}", "{script('sleeper.py')}", "{tmp_path}/pid-{{n}}"]
params = {{ n = 0 }}
gpus = 1
""")
    env = project.env(DLTUI_GPUS="0,1")
    project.cli("run", "gpu", "--detach", "--set", "n=1,2,3", env=env, check=True)
    paths = project.run_paths("gpu")

    def states() -> list[str]:
        return sorted(str(project.status_of(p).get("state")) for p in paths)

    wait_for(lambda: states() == ["queued", "running", "running"], what="two running, one queued")
    running = [p for p in paths if project.status_of(p)["state"] == "running"]
    devices = sorted(project.status_of(p)["gpu_ids"][0] for p in running)  # type: ignore[index]
    assert devices == [0, 1]
    for path in running:
        n = json.loads((path / "run.json").read_text())["params"]["n"]
        pid_file = tmp_path / f"pid-{n}"
        wait_for(pid_file.exists, what="the script's pid file")
        seen = environ_of(int(pid_file.read_text()))["CUDA_VISIBLE_DEVICES"]
        assert seen == str(project.status_of(path)["gpu_ids"][0])  # type: ignore[index]
    project.cli("stop", "--all", "--grace", "1", env=env, check=True)
    assert states() == ["killed", "killed", "killed"]


def test_cpu_run_sees_no_gpu(project: Project) -> None:
    project.write(f"""
[experiments.cpu]
command = ["{PY}", "{script('argv_dump.py')}"]
gpus = 1
""")
    project.cli("run", "cpu", check=True)  # no GPU on this machine: gpus = 1 runs on the CPU
    (path,) = project.run_paths("cpu")
    dumped = json.loads((path / "artifacts" / "argv.json").read_text())
    assert dumped["cuda"] == ""
    assert dumped["run_dir"] == str(path)


NEEDS = tracked_experiment("pretrain", epochs=2) + f"""
[experiments.finetune]
command = ["{PY}", "{script('argv_dump.py')}", "{{needs.pretrain}}"]
needs = ["pretrain"]
"""


def test_needs_run_first_and_pass_their_run(project: Project) -> None:
    project.write(NEEDS)
    project.cli("run", "finetune", check=True)
    (pretrain,) = project.run_paths("pretrain")
    (finetune,) = project.run_paths("finetune")
    assert project.status_of(pretrain)["state"] == "succeeded"
    dumped = json.loads((finetune / "artifacts" / "argv.json").read_text())
    assert dumped["argv"] == [str(pretrain)]
    assert project.status_of(finetune)["needs"] == {"pretrain": str(pretrain)}
    # A second launch reuses the finished run instead of training it again.
    project.cli("run", "finetune", check=True)
    assert len(project.run_paths("pretrain")) == 1


def test_failed_need_fails_the_dependent(project: Project) -> None:
    project.write(NEEDS.replace("fail = false", "fail = true"))
    done = project.cli("run", "finetune")
    assert done.returncode == 1
    (finetune,) = project.run_paths("finetune")
    status = project.status_of(finetune)
    assert status["state"] == "failed" and "needed run pretrain/" in status["error"]


QUEUE_SETTINGS_DAMAGES = {
    "not an object": b"[1, 2]",
    "a count that is text": b'{"max_parallel": "two", "runs_per_gpu": 1}',
    "no slot at all": b'{"max_parallel": 0, "runs_per_gpu": -3}',
    "random bytes": bytes(range(256)),
}


@pytest.mark.parametrize("case", sorted(QUEUE_SETTINGS_DAMAGES))
def test_damaged_queue_settings_leave_the_queue_running(project: Project, case: str) -> None:
    """`.queue.json` is rewritten by each launch; damaged (or edited by hand) in
    between, the supervisor runs the queue with the defaults rather than die."""
    project.write(f"""
[settings]
max_parallel = 2

[experiments.quick]
command = ["{PY}", "-c", "import time; time.sleep(0.3)"]
params = {{ n = 0 }}
""")
    project.cli("run", "quick", "--detach", "--set", "n=1,2,3", check=True)
    (project.runs / ".queue.json").write_bytes(QUEUE_SETTINGS_DAMAGES[case])
    paths = project.run_paths("quick")
    wait_for(lambda: all(project.status_of(p).get("state") == "succeeded" for p in paths),
             timeout=60, what="every run of the queue to succeed")
