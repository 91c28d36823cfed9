"""Requeue in place: a stopped, crashed or lost run of a built-in task goes on from its
last checkpoint in its own directory, and ends as an uninterrupted run would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from task_runs import (
    TINY_VIT,
    launched_run_dir,
    metrics,
    run_in,
    run_launched,
    start_in,
    tiny_backbone,
)

from conftest import Project, script, wait_for

PY = sys.executable
CHECKPOINT = "artifacts/checkpoint.pt"
EPOCHS = 6


def manifest() -> str:
    # Epochs long enough (2,000 images at batch 8) that a stop lands mid-training.
    return f"""
[experiments.cnn]
task = "cnn"
params = {{ epochs = {EPOCHS}, train_count = 2000, val_count = 200, test_count = 200 }}
metric = "val_acc"
mode = "max"

[experiments.printed]
command = ["{PY}", "{script('prints.py')}", "0.1", "2", "0.01"]

[experiments.fails]
command = ["{PY}", "-c", "import sys; sys.exit(3)"]

[experiments.starts-over]
command = ["{PY}", "{script('starts_over.py')}"]
"""


def steps_of(run_dir: Path, name: str) -> list[int]:
    return [row["step"] for row in metrics(run_dir) if name in row]


def values_of(run_dir: Path, name: str) -> list[float]:
    return [row[name] for row in metrics(run_dir) if name in row]


def stopped_after_two_epochs(project: Project) -> Path:
    project.cli("run", "cnn", "-d", check=True)
    (path,) = project.run_paths("cnn")
    wait_for(lambda: (path / "metrics.jsonl").exists() and len(steps_of(path, "val_acc")) >= 2,
             timeout=120, what="two epochs")
    return path


def test_a_stopped_run_resumes_and_ends_as_an_uninterrupted_one(project: Project) -> None:
    project.write(manifest())
    path = stopped_after_two_epochs(project)
    project.cli("stop", path.name, check=True)
    assert project.status_of(path)["state"] == "killed"
    assert (path / CHECKPOINT).exists()
    done_before = len(steps_of(path, "val_acc"))
    assert done_before < EPOCHS, "the run ended before the stop: make its epochs longer"

    said = project.cli("requeue", path.name, check=True).stdout
    assert "queued again in its directory; it resumes from its checkpoint" in said
    wait_for(lambda: project.status_of(path)["state"] == "succeeded", timeout=120,
             what="the requeued run to succeed")
    status = project.status_of(path)
    assert status["attempt"] == 2 and status["exit_code"] == 0
    assert steps_of(path, "val_acc") == list(range(1, EPOCHS + 1))  # none twice, none lost
    log = (path / "output.log").read_text()
    assert f"resuming after epoch {done_before} from" in log
    assert log.count("parameters on cpu") == 2  # one log, both attempts
    assert "the run starts again (attempt 2)" in log  # where the second begins
    assert not (path / CHECKPOINT).exists()  # removed once the run ended well
    assert len(project.run_paths("cnn")) == 1

    # The same settings, never interrupted: the very same numbers, bit for bit on a CPU.
    project.cli("run", "cnn", "--set", "seed=42", check=True)
    fresh = next(p for p in project.run_paths("cnn") if p != path)
    assert values_of(fresh, "val_acc") == values_of(path, "val_acc")
    assert values_of(fresh, "train_loss") == values_of(path, "train_loss")
    assert values_of(fresh, "test_acc") == values_of(path, "test_acc")


def test_a_run_lost_with_its_machine_resumes(project: Project) -> None:
    """kill -9 of the whole process group: no one writes an ending (a reboot, the OOM killer)."""
    project.write(manifest())
    path = stopped_after_two_epochs(project)
    os.killpg(int(project.status_of(path)["pgid"]), signal.SIGKILL)  # type: ignore[arg-type]
    # Whoever reads the run next (here `ps`) finds its process gone and marks it lost.
    wait_for(lambda: project.ps_json("--all")[0]["state"] == "lost", timeout=30,
             what="the run to be seen lost")
    project.cli("requeue", "cnn", check=True)  # an experiment's name: its latest run
    wait_for(lambda: project.status_of(path)["state"] == "succeeded", timeout=120,
             what="the requeued run to succeed")
    assert steps_of(path, "val_acc") == list(range(1, EPOCHS + 1))
    assert "resuming after epoch" in (path / "output.log").read_text()


def test_requeue_refuses_runs_that_succeeded_or_still_run(project: Project) -> None:
    project.write(manifest())
    project.cli("run", "printed", check=True)
    done = project.cli("requeue", "printed")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "is succeeded; only runs that ended without finishing" in done.stderr
    assert "`dltui run` the experiment" in done.stderr
    path = stopped_after_two_epochs(project)
    done = project.cli("requeue", path.name)
    assert done.returncode == 2 and "stop it first" in done.stderr
    project.cli("stop", path.name, check=True)


def test_a_script_without_checkpoints_is_said_to_start_over(project: Project) -> None:
    project.write(manifest())
    assert project.cli("run", "fails").returncode == 1
    (path,) = project.run_paths("fails")
    assert project.status_of(path)["state"] == "failed"
    said = project.cli("requeue", path.name, check=True).stdout
    assert "from the start (its code saved no checkpoint)" in said


def killed_after_first_epoch(run_dir: Path) -> None:
    """Start the run's task and SIGKILL it once it reports its first epoch (it has written
    that epoch's checkpoint just before; it may have got further by the time it dies)."""
    task = start_in(run_dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert task.stdout is not None
    for line in task.stdout:
        if line.startswith("epoch 1/"):
            task.kill()
            break
    task.wait(timeout=60)
    assert task.returncode == -signal.SIGKILL, "the task ended before its first epoch"


def curves(run_dir: Path) -> list[dict[str, object]]:
    """Every value logged, by step; not the times, nor progress (`_done`, `_total`)."""
    rows = [{k: v for k, v in row.items() if k != "time" and not k.startswith("_")}
            for row in metrics(run_dir)]
    return [row for row in rows if set(row) != {"step"}]


SMALL = {"train_count": 24, "val_count": 8, "batch_size": 8}


@pytest.mark.parametrize("task, experiment, params", [
    ("pretrain_vit", "pretrain-vit", {**dict(a.split("=") for a in TINY_VIT), **SMALL}),
    ("seg_heads", "seg-heads", {"head": "transformer", **SMALL}),
    ("retrieval", "retrieval", SMALL),
    ("caption", "caption", {"attention": True, "encoder_epochs": 1, "test_count": 8,
                            "examples": 2, **SMALL}),
    ("blip_caption", "blip-caption", {"model": "small", "test_count": 8,
                                      "max_new_tokens": 6, **SMALL}),
])
def test_every_training_task_resumes_to_the_same_numbers(
        tmp_path: Path, task: str, experiment: str, params: dict[str, object]) -> None:
    """Each built-in task: killed after its first of four epochs and started again in the
    same directory, it ends with the curves and results of a run never interrupted."""
    runs = tmp_path / "runs"
    needs: dict[str, str] = {}
    if task in ("seg_heads", "retrieval"):
        needs = {"pretrain-vit": str(tiny_backbone(runs))}
    params = {**params, "epochs": 4}
    done, straight = run_launched(task, experiment, runs, params, needs)
    assert done.returncode == 0, done.stderr

    interrupted = launched_run_dir(task, experiment, runs, params, needs)
    killed_after_first_epoch(interrupted)
    assert (interrupted / CHECKPOINT).exists()
    done = run_in(interrupted)
    assert done.returncode == 0, done.stderr
    assert "resuming after epoch" in done.stdout
    assert curves(interrupted) == curves(straight)
    assert not (interrupted / CHECKPOINT).exists()
    summary = json.loads((interrupted / "summary.json").read_text())
    expected = json.loads((straight / "summary.json").read_text())
    assert {k: v for k, v in summary.items() if "wall" not in k and not k.endswith("_s")} == \
        {k: v for k, v in expected.items() if "wall" not in k and not k.endswith("_s")}


def test_a_script_that_starts_over_logs_each_step_once(project: Project) -> None:
    """No checkpoint: the second attempt prints epochs 1..4 again; the curve gets 3 and
    4 from it, and keeps 1 and 2 from the first (a step is never logged twice)."""
    project.write(manifest())
    done = project.cli("run", "starts-over")
    assert done.returncode == 1  # the first attempt fails at epoch 2
    (path,) = project.run_paths("starts-over")
    assert f"`dltui requeue {path.name}` to continue it in place" in done.stdout
    project.cli("requeue", path.name, check=True)
    wait_for(lambda: project.status_of(path)["state"] == "succeeded", what="the second attempt")
    rows = metrics(path)
    assert [r["step"] for r in rows if "loss" in r] == [1, 2, 3, 4]
    assert [r["attempt"] for r in rows if "loss" in r] == [1, 1, 2, 2]
    assert (path / "output.log").read_text().count("epoch 1/4") == 2


WRITER = """
import sys
from dltui.store import rundir as rd
from dltui.tracking.run import Run
run = Run(rd.RunDir(sys.argv[1]), owns_status=False)
for step in range(int(sys.argv[2]), int(sys.argv[3]) + 1):
    run.log({"loss": 1 / step, "attempt": int(sys.argv[4])}, step=step)
run.log({"test_acc": 0.5}, step=int(sys.argv[3]))
run.progress(int(sys.argv[3]), 5)
run.finish()
"""


def test_tracked_values_an_earlier_attempt_logged_are_not_logged_again(tmp_path: Path) -> None:
    from dltui.store import rundir as rd
    from dltui.tracking.stream import MetricHistory, MetricTail

    spec = rd.RunSpec(run_id="r1", experiment="exp", argv=[], params={}, cwd=str(tmp_path))
    run = rd.create_run_dir(tmp_path / "runs", spec, state=rd.RUNNING)

    def attempt(first: int, last: int, number: int) -> None:
        done = subprocess.run([PY, "-c", WRITER, str(run.path), str(first), str(last),
                               str(number)], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr

    attempt(1, 3, 1)
    with open(run.metrics_file, "a") as metrics_file:  # killed in the middle of a line
        metrics_file.write('{"step": 4, "loss": 0.2')
    attempt(3, 5, 2)  # resumed from the checkpoint of step 2: step 3 is done again
    lines = run.metrics_file.read_text().splitlines()
    assert '{"step": 4, "loss": 0.2' in lines  # ended, so the next record is whole
    rows = MetricTail(run.metrics_file).read_new()
    assert [(r["step"], r["attempt"]) for r in rows if "loss" in r] == [
        (1, 1), (2, 1), (3, 1), (4, 2), (5, 2)]
    # test_acc at step 3 by the first attempt; at 5 by the second, a later step.
    assert [r["step"] for r in rows if "test_acc" in r] == [3, 5]
    assert [r["step"] for r in rows if "_total" in r] == [3, 5]  # progress is never a replay
    history = MetricHistory(run.metrics_file)
    history.update()
    assert history.series["loss"].steps == [1, 2, 3, 4, 5]  # the torn line skipped, not merged


def test_a_checkpoint_from_another_version_of_the_task_is_refused_clearly(
        tmp_path: Path) -> None:
    import torch

    runs = tmp_path / "runs"
    run_dir = launched_run_dir("cnn", "cnn", runs, {"epochs": 2, "train_count": 64,
                                                    "val_count": 16, "test_count": 16}, {})
    torch.save({"epoch": 1, "values": {}, "random": {}, "parts": {"model": {}}},
               run_dir / CHECKPOINT)
    done = run_in(run_dir)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "holds no generator, optimizer: another version of this task wrote it" in done.stderr
    assert f"remove {run_dir / CHECKPOINT} and requeue the run" in done.stderr
