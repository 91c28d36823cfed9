"""TensorBoard files written from the metrics stream, outside the training process.

`log()` writes only the metrics line; the run wrapper (or a thread of a script
started by hand) turns the stream into event files and the run's summary. These
tests read the event files with TensorBoard's own reader and the encoding with
protobuf's own parser.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.compat.proto import event_pb2, summary_pb2

from conftest import Project
from dltui.store import rundir as rd
from dltui.tracking.follower import StreamFollower
from dltui.tracking.tfrecord import EventFile, crc32c, scalar_event, version_event


def scalars(tb_dir: Path) -> dict[str, list[tuple[int, float]]]:
    acc = EventAccumulator(str(tb_dir), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)]
            for tag in acc.Tags()["scalars"]}


def test_encoding_is_protobufs_own() -> None:
    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
    for step in (0, 7, 300, -2, 2**40):
        ours = scalar_event({"loss": 0.25, "val/acc": -3.5, "ünï": float("inf")}, step, 1234.5)
        theirs = event_pb2.Event(wall_time=1234.5, step=step, summary=summary_pb2.Summary(value=[
            summary_pb2.Summary.Value(tag="loss", simple_value=0.25),
            summary_pb2.Summary.Value(tag="val/acc", simple_value=-3.5),
            summary_pb2.Summary.Value(tag="ünï", simple_value=float("inf"))]))
        assert ours == theirs.SerializeToString()
    assert version_event(9.0) == event_pb2.Event(
        wall_time=9.0, file_version="brain.Event:2").SerializeToString()


LOGGING_SCRIPT = """
import os, signal, sys, dltui
run = dltui.init()
count = int(sys.argv[1])
for step in range(count):
    run.log({"loss": 1.0 / (step + 1), "lr": 0.1}, step=step)
    if step % 100 == 0:
        run.progress(step, count)
if sys.argv[2] == "kill":  # gone at once: no atexit, no flush of anything but log()'s
    os.kill(os.getpid(), signal.SIGKILL)
"""


def launched_run(project: Project, count: int, end: str) -> Path:
    (project.root / "log_many.py").write_text(LOGGING_SCRIPT)
    project.write(f'[experiments.many]\ncommand = "{sys.executable} log_many.py {count} {end}"\n'
                  'metric = "loss"\nmode = "min"\n')
    project.cli("run", "many")
    (path,) = (project.runs / "many").iterdir()
    return path


def test_launched_run_has_every_value_in_tensorboard(project: Project) -> None:
    path = launched_run(project, 1500, "exit")
    found = scalars(path / "tb")
    assert found["loss"] == [(step, pytest.approx(1.0 / (step + 1))) for step in range(1500)]
    assert len(found["lr"]) == 1500
    status = json.loads((path / "status.json").read_text())
    assert status["state"] == "succeeded"
    assert status["metrics"]["loss"] == {"last": 1.0 / 1500, "best": 1.0 / 1500,
                                         "count": 1500}
    assert status["last_step"] == 1400 and status["total"] == 1500


def test_values_logged_before_a_kill_all_reach_tensorboard(project: Project) -> None:
    path = launched_run(project, 400, "kill")
    lines = (path / "metrics.jsonl").read_text().splitlines()
    assert sum('"loss"' in line for line in lines) == 400
    assert [step for step, _ in scalars(path / "tb")["loss"]] == list(range(400))
    status = json.loads((path / "status.json").read_text())
    assert status["state"] == "failed" and "SIGKILL" in status["error"]
    assert status["metrics"]["loss"]["count"] == 400


def test_script_by_hand_converts_on_its_own_thread(tmp_path: Path) -> None:
    script = tmp_path / "by_hand.py"
    script.write_text(LOGGING_SCRIPT.replace("dltui.init()", "dltui.init(experiment='hand')"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DLTUI_")}
    subprocess.run([sys.executable, str(script), "250", "exit"], cwd=tmp_path, env=env,
                   check=True, timeout=60)
    (path,) = (tmp_path / "runs" / "hand").iterdir()
    assert [step for step, _ in scalars(path / "tb")["loss"]] == list(range(250))
    status = json.loads((path / "status.json").read_text())
    assert status["state"] == "succeeded" and status["metrics"]["loss"]["count"] == 250


def write_records(path: Path, steps: range) -> None:
    with open(path, "a", encoding="utf-8") as out:
        for step in steps:
            out.write(json.dumps({"step": step, "time": 100.0 + step, "loss": float(step)}) + "\n")


def test_a_later_attempt_converts_only_the_rest(tmp_path: Path) -> None:
    spec = rd.RunSpec(run_id="r1", experiment="e", argv=[], params={}, cwd=str(tmp_path))
    run = rd.create_run_dir(tmp_path, spec, state=rd.RUNNING)
    write_records(run.metrics_file, range(0, 30))
    first = StreamFollower(run).start()
    first.stop()
    write_records(run.metrics_file, range(30, 50))  # a requeued attempt goes on
    second = StreamFollower(run)
    fields = second.stop()
    assert [step for step, _ in scalars(run.tb_dir)["loss"]] == list(range(50))
    # The summary covers every attempt, though the events of the first were not rewritten.
    assert fields["metrics"]["loss"] == {"last": 49.0, "best": 0.0, "count": 50}
    assert len(list(run.tb_dir.glob("events.out.tfevents.*"))) == 2


def test_a_follower_killed_before_saving_leaves_the_rest_to_the_next(tmp_path: Path) -> None:
    spec = rd.RunSpec(run_id="r2", experiment="e", argv=[], params={}, cwd=str(tmp_path))
    run = rd.create_run_dir(tmp_path, spec, state=rd.RUNNING)
    write_records(run.metrics_file, range(0, 10))
    StreamFollower(run).stop()
    write_records(run.metrics_file, range(10, 20))
    # A wrapper that died before its pass: nothing of steps 10-19 converted, offset at 10.
    StreamFollower(run).stop()
    assert [step for step, _ in scalars(run.tb_dir)["loss"]] == list(range(20))


def test_a_stream_replaced_since_is_converted_from_its_start(tmp_path: Path) -> None:
    spec = rd.RunSpec(run_id="r3", experiment="e", argv=[], params={}, cwd=str(tmp_path))
    run = rd.create_run_dir(tmp_path, spec, state=rd.RUNNING)
    rd.write_json_atomic(run.tb_dir / ".converted", {"offset": 10**9})
    write_records(run.metrics_file, range(5))
    StreamFollower(run).stop()
    assert [step for step, _ in scalars(run.tb_dir)["loss"]] == list(range(5))


def test_a_torn_last_line_waits_for_its_end(tmp_path: Path) -> None:
    spec = rd.RunSpec(run_id="r4", experiment="e", argv=[], params={}, cwd=str(tmp_path))
    run = rd.create_run_dir(tmp_path, spec, state=rd.RUNNING)
    write_records(run.metrics_file, range(3))
    with open(run.metrics_file, "a") as out:
        out.write('{"step": 3, "loss": 3.')
    follower = StreamFollower(run)
    follower.catch_up()
    assert follower.summary.figures["loss"].count == 3
    with open(run.metrics_file, "a") as out:
        out.write('5}\n')
    fields = follower.stop()
    assert fields["metrics"]["loss"]["last"] == 3.5
    assert scalars(run.tb_dir)["loss"][-1] == (3, 3.5)


def test_no_tensorboard_files_without_numbers(tmp_path: Path) -> None:
    spec = rd.RunSpec(run_id="r5", experiment="e", argv=[], params={}, cwd=str(tmp_path))
    run = rd.create_run_dir(tmp_path, spec, state=rd.RUNNING)
    run.metrics_file.write_text('{"step": 1, "_total": 10}\n{"step": 1, "note": "text"}\n')
    fields = StreamFollower(run).stop()
    assert fields == {"metrics": {}, "last_step": 1, "total": 10}
    assert not list(run.tb_dir.glob("events.out.tfevents.*"))


def test_long_lines_are_read_in_pieces(tmp_path: Path) -> None:
    spec = rd.RunSpec(run_id="r6", experiment="e", argv=[], params={}, cwd=str(tmp_path))
    run = rd.create_run_dir(tmp_path, spec, state=rd.RUNNING)
    wide = {f"m{i}": float(i) for i in range(60000)}  # one record longer than a piece
    run.metrics_file.write_text(json.dumps({"step": 0, **wide}) + "\n")
    write_records(run.metrics_file, range(1, 3))
    fields = StreamFollower(run, tensorboard=False).stop()
    assert fields["metrics"]["m59999"]["last"] == 59999.0
    assert fields["metrics"]["loss"]["count"] == 2


def test_a_later_event_file_is_read_after_the_earlier_ones(tmp_path: Path) -> None:
    """TensorBoard reads a folder's event files in the order of their names: a file
    made in the same second by a process of a higher pid, or stamped ahead by another
    clock, still comes before the one made after it."""
    now = int(time.time())
    for second, pid in ((now, 999999), (now + 30, 5)):
        folder = tmp_path / str(second)
        earlier = EventFile(folder)
        earlier.write(scalar_event({"loss": 1.0}, 0, 1.0))
        earlier.close()
        (old,) = folder.iterdir()
        parts = old.name.split(".")
        parts[3], parts[5] = f"{second:010d}", str(pid)
        old.rename(folder / ".".join(parts))
        later = EventFile(folder)
        later.write(scalar_event({"loss": 2.0}, 1, 2.0))
        later.close()
        names = sorted(p.name for p in folder.iterdir())
        assert names[0] == ".".join(parts) and len(names) == 2
        assert scalars(folder)["loss"] == [(0, 1.0), (1, 2.0)]


def test_tensorboard_catches_up_a_run_whose_follower_died(tmp_path: Path) -> None:
    """A script started by hand and killed: its thread never made its last pass, so
    `dltui tb` (and the dashboard's TensorBoard) convert the rest before serving."""
    from dltui.bridges.tensorboard import tensorboard_argv
    from dltui.store.runs import RunStore

    script = tmp_path / "killed.py"
    script.write_text(LOGGING_SCRIPT.replace("dltui.init()", "dltui.init(experiment='gone')"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DLTUI_")}
    done = subprocess.run([sys.executable, str(script), "300", "kill"], cwd=tmp_path, env=env,
                          timeout=60)
    assert done.returncode == -9
    (info,) = RunStore(tmp_path / "runs").runs("gone")
    assert info.state == "lost"  # its process is gone without a word
    before = scalars(info.dir.tb_dir).get("loss", [])
    assert len(before) < 300
    argv = tensorboard_argv([info])
    assert "--logdir_spec" in argv
    assert [step for step, _ in scalars(info.dir.tb_dir)["loss"]] == list(range(300))
    tensorboard_argv([info])  # once caught up, nothing is written twice
    assert len(scalars(info.dir.tb_dir)["loss"]) == 300


def test_odd_values_and_steps_never_stop_the_follower(tmp_path: Path) -> None:
    spec = rd.RunSpec(run_id="r7", experiment="e", argv=[], params={}, cwd=str(tmp_path))
    run = rd.create_run_dir(tmp_path, spec, state=rd.RUNNING)
    run.metrics_file.write_text(
        '{"step": NaN, "loss": 1.0}\n{"step": 2, "loss": 1e300, "big": ' + "9" * 400 + '}\n'
        '{"step": 3, "loss": -Infinity, "time": "noon"}\n{"step": 4, "loss": 0.5}\n')
    fields = StreamFollower(run).stop()
    assert fields["metrics"]["loss"] == {"last": 0.5, "best": 0.5, "count": 4}
    assert fields["metrics"]["big"]["last"] == float("inf")
    found = scalars(run.tb_dir)
    assert [step for step, _ in found["loss"]] == [0, 2, 3, 4]
    assert found["loss"][1][1] == float("inf")  # beyond a 32-bit float: an infinity


def test_a_script_that_asks_for_no_tensorboard_gets_none(project: Project) -> None:
    (project.root / "quiet.py").write_text(
        "import dltui\nrun = dltui.init(tensorboard=False)\n"
        "for step in range(20):\n    run.log({'loss': 1.0 / (step + 1)}, step=step)\n")
    project.write(f'[experiments.quiet]\ncommand = "{sys.executable} quiet.py"\n')
    project.cli("run", "quiet", check=True)
    (path,) = (project.runs / "quiet").iterdir()
    assert not list((path / "tb").glob("events.out.tfevents.*"))
    status = json.loads((path / "status.json").read_text())
    assert status["metrics"]["loss"]["count"] == 20  # the summary all the same
