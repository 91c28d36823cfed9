"""Running built-in tasks for real in tests: by hand, or as the launcher starts them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from dltui.store import rundir as rd
from dltui.store.names import new_run_id

# A pretrain-vit run small enough for a test: one epoch, one block.
TINY_VIT = ["epochs=1", "train_count=64", "val_count=32", "dim=32", "depth=1", "heads=2",
            "batch_size=32"]


def task_env(runs: Path, **extra: str) -> dict[str, str]:
    """The environment of a task process: its runs directory, one thread, no hub."""
    env = {**os.environ, "DLTUI_RUNS_DIR": str(runs), "OMP_NUM_THREADS": "1",
           "HF_HUB_OFFLINE": "1", **extra}
    if "DLTUI_RUN_DIR" not in extra:
        env.pop("DLTUI_RUN_DIR", None)
    return env


def module_of(task: str) -> str:
    return task if "." in task else f"dltui.tasks.{task}"


def run_by_hand(task: str, runs: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m dltui.tasks.TASK key=value ...` from the folder holding `runs`."""
    return subprocess.run([sys.executable, "-m", module_of(task), *args], cwd=runs.parent,
                          env=task_env(runs), capture_output=True, text=True, timeout=300)


def launched_run_dir(task: str, experiment: str, runs: Path, params: dict[str, object],
                     needs: dict[str, str]) -> Path:
    """A run directory as the launcher makes it: run.json with params, needs in status.json."""
    spec = rd.RunSpec(run_id=new_run_id(), experiment=experiment,
                      argv=[sys.executable, "-m", module_of(task)], params=params,
                      cwd=str(runs.parent), needs=dict(needs))
    return rd.create_run_dir(runs, spec, state=rd.RUNNING, queued_at=time.time(),
                             needs=needs).path


def start_in(run_dir: Path, **popen: Any) -> subprocess.Popen[str]:
    """The task of a launched run directory, started in it as the wrapper starts it."""
    spec = rd.RunDir(run_dir).spec()
    assert spec is not None
    runs = run_dir.parent.parent
    return subprocess.Popen(spec.argv, cwd=runs.parent, text=True,
                            env=task_env(runs, DLTUI_RUN_DIR=str(run_dir)), **popen)


def run_in(run_dir: Path) -> subprocess.CompletedProcess[str]:
    task = start_in(run_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = task.communicate(timeout=300)
    return subprocess.CompletedProcess(task.args, task.returncode, out, err)


def run_launched(task: str, experiment: str, runs: Path, params: dict[str, object],
                 needs: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Start a task as the launcher does and wait for it to end."""
    run_dir = launched_run_dir(task, experiment, runs, params, needs)
    return run_in(run_dir), run_dir


def run_dirs(runs: Path, experiment: str) -> list[Path]:
    """The run directories of an experiment (not the index files beside them)."""
    folder = runs / experiment
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def only_run_dir(runs: Path, experiment: str) -> Path:
    (run_dir,) = run_dirs(runs, experiment)
    return run_dir


def metrics(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def tiny_backbone(runs: Path) -> Path:
    """A finished pretrain-vit run of TINY_VIT under `runs`, for the tasks that need one."""
    done = run_by_hand("pretrain_vit", runs, *TINY_VIT)
    assert done.returncode == 0, done.stderr
    return only_run_dir(runs, "pretrain-vit")
