"""The torchrun backend: one run over N processes of this machine (gloo on the CPU)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from conftest import Project, script
from dltui.backends.torchrun import RankZeroLines, process_count, rank_of, torchrun_argv
from dltui.store import rundir as rd

PY = sys.executable


def spec(params: dict[str, object] | None = None, gpus: int = 0) -> rd.RunSpec:
    return rd.RunSpec(run_id="r", experiment="e", argv=[], params=params or {}, cwd=".",
                      gpus=gpus, backend="torchrun")


def test_process_count_is_nproc_else_the_gpus_at_least_one() -> None:
    assert process_count(spec({"nproc": 3})) == 3
    assert process_count(spec(gpus=4)) == 4
    assert process_count(spec()) == 1
    assert process_count(spec({"nproc": 0}, gpus=2)) == 2


def test_torchrun_wraps_scripts_modules_and_programs(tmp_path: Path) -> None:
    head = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "--tee=3",
            "--log-line-prefix-template=[rank${rank}]: ", f"--log-dir={tmp_path / 'ranks'}"]
    two = spec({"nproc": 2})
    assert torchrun_argv(["/env/bin/python3", "-u", "train.py", "lr=1"], two, tmp_path) == [
        "/env/bin/python3", *head, "train.py", "lr=1"]
    assert torchrun_argv(["python", "-X", "utf8", "-m", "dltui.tasks.cnn"], two, tmp_path) == [
        "python", *head, "-m", "dltui.tasks.cnn"]
    assert torchrun_argv(["./train.sh", "--fast"], two, tmp_path) == [
        sys.executable, *head, "--no-python", "./train.sh", "--fast"]


def test_only_rank_zero_lines_reach_the_metrics_parser() -> None:
    seen: list[str] = []

    class Parser:
        def feed(self, line: str) -> None:
            seen.append(line)

        def close(self) -> None:
            seen.append("closed")

    lines = RankZeroLines(Parser())
    for line in ("[rank0]: loss=1", "[rank1]: loss=1", "[rank10]: loss=2", "torchrun says hi"):
        lines.feed(line)
    lines.close()
    assert seen == ["loss=1", "closed"]
    assert rank_of("[rank12]: x") == 12 and rank_of("plain") is None


def manifest() -> str:
    return f"""
[settings]
max_parallel = 2

[experiments.ddp]
command = ["{PY}", "{script('ddp_tracked.py')}"]
params = {{ epochs = 2 }}
backend = "torchrun"

[experiments.printed]
command = ["{PY}", "{script('prints.py')}", "0.5", "2"]
backend = "torchrun"
"""


def ranked_lines(log: str, rank: int) -> list[str]:
    return [line for line in log.splitlines() if line.startswith(f"[rank{rank}]: ")]


def test_two_gloo_processes_train_and_log_once(project: Project) -> None:
    project.write(manifest())
    done = project.cli("run", "ddp", "printed", "--set", "nproc=2", timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    (ddp,) = project.run_paths("ddp")
    status = project.status_of(ddp)
    assert status["state"] == "succeeded" and "--nproc_per_node=2" in status["argv"]
    log = (ddp / "output.log").read_text()
    for rank in (0, 1):  # every rank's output is kept, each line saying whose it is
        assert [x.split(" rank=")[1] for x in ranked_lines(log, rank) if ": epoch " in x] == [
            f"{rank} local={rank}"] * 2
    records = [json.loads(x) for x in (ddp / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "loss" in r] == [1, 2]  # once, not once per rank
    assert all(r.get("world", 2) == 2 for r in records)
    assert json.loads((ddp / "summary.json").read_text()) == {"world": 2}
    assert sorted(p.name for p in (ddp / "artifacts").iterdir()) == ["from-rank-0.txt"]
    assert len(list((ddp / "ranks").glob("*/attempt_0/[01]/stdout.log"))) == 2
    # A script that knows nothing of dltui: rank 0's printed metrics, once.
    (printed,) = project.run_paths("printed")
    log = (printed / "output.log").read_text()
    assert len(ranked_lines(log, 0)) == len(ranked_lines(log, 1)) == 3
    records = [json.loads(x) for x in (printed / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "loss" in r] == [1, 2]


@pytest.mark.slow
def test_the_cnn_task_trains_data_parallel(project: Project) -> None:
    project.write("""
[experiments.cnn-ddp]
task = "cnn"
params = { epochs = 2, train_count = 64, val_count = 32, test_count = 32, nproc = 2 }
metric = "val_acc"
mode = "max"
backend = "torchrun"
""")
    done = project.cli("run", "cnn-ddp", timeout=400)
    assert done.returncode == 0, done.stdout + done.stderr
    (path,) = project.run_paths("cnn-ddp")
    log = (path / "output.log").read_text()
    assert ranked_lines(log, 0) and ranked_lines(log, 1)
    records = [json.loads(x) for x in (path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "train_loss" in r] == [1, 2]
    assert [r["step"] for r in records if "test_acc" in r] == [2]
    summary = json.loads((path / "summary.json").read_text())
    assert 0.0 <= summary["test_acc"] <= 1.0 and summary["num_params"] > 0
    assert sorted(p.name for p in (path / "artifacts").glob("*.png")) == [
        "conv1_filters.png", "conv2_filters.png"]
