"""The tracking API: what training code writes is readable at once, by us and TensorBoard."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from dltui.tracking.stream import MetricTail

HAND_SCRIPT = """
import sys, numpy as np, dltui
run = dltui.init(params={"lr": 0.5})
run.log({"loss": 1.5, "acc": np.float32(0.25)}, step=1)
run.log({"loss": 1.0}, step=2)
image = np.zeros((8, 12, 3), dtype=np.uint8); image[:, :6, 0] = 255
path = run.log_image("filters/conv1", image, step=2)
run.log_text("captions", "a red circle left of a blue square", step=2)
run.summary["test_acc"] = 0.5
print(run.path)
if len(sys.argv) > 1:
    sys.exit(int(sys.argv[1]))
"""


def run_by_hand(tmp_path: Path, *args: str) -> tuple[int, Path]:
    script = tmp_path / "train_by_hand.py"
    script.write_text(HAND_SCRIPT)
    done = subprocess.run([sys.executable, str(script), *args], cwd=tmp_path,
                          capture_output=True, text=True)
    return done.returncode, Path(done.stdout.strip().splitlines()[-1])


def test_script_started_by_hand_gets_a_run(tmp_path: Path) -> None:
    code, path = run_by_hand(tmp_path)
    assert code == 0
    assert path.parent == tmp_path / "runs" / "train_by_hand"
    status = json.loads((path / "status.json").read_text())
    assert status["state"] == "succeeded" and status["launched_by"] == "hand"
    assert json.loads((path / "run.json").read_text())["params"] == {"lr": 0.5}
    lines = [json.loads(x) for x in (path / "metrics.jsonl").read_text().splitlines()]
    records = [r for r in lines if not {"_image", "_text"} & r.keys()]
    assert [(r["step"], r["loss"]) for r in records] == [(1, 1.5), (2, 1.0)]
    assert records[0]["acc"] == 0.25
    # The image and the text reach TensorBoard through the stream: a line naming each.
    media = [r for r in lines if r not in records]
    assert [(r["step"], sorted(r)) for r in media] == [(2, ["_image", "step", "time"]),
                                                       (2, ["_text", "step", "time"])]
    assert json.loads((path / "summary.json").read_text()) == {"test_acc": 0.5}
    png = (path / "artifacts" / "filters_conv1.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    acc = EventAccumulator(str(path / "tb"), size_guidance={"images": 0, "tensors": 0})
    acc.Reload()
    assert [e.value for e in acc.Scalars("loss")] == [1.5, 1.0]
    (image,) = acc.Images("filters/conv1")
    assert (image.width, image.height, image.step) == (12, 8, 2)
    (text,) = acc.Tensors("captions")
    assert text.tensor_proto.string_val == [b"a red circle left of a blue square"]
    assert not (tmp_path / "runs" / ".active" / path.name).exists()


def test_failing_script_by_hand_is_failed(tmp_path: Path) -> None:
    code, path = run_by_hand(tmp_path, "4")
    assert code == 4
    assert json.loads((path / "status.json").read_text())["state"] == "failed"


def test_logged_value_is_readable_at_once(tmp_path: Path) -> None:
    """No buffering between log() and the metrics file (the dashboard polls it)."""
    import dltui.tracking.run as tracking
    from dltui.store import rundir as rd

    spec = rd.RunSpec(run_id="r1", experiment="e", argv=[], params={}, cwd=str(tmp_path))
    run_dir = rd.create_run_dir(tmp_path, spec, state=rd.RUNNING)
    run = tracking.Run(run_dir, owns_status=False, tensorboard=False)
    tail = MetricTail(run_dir.metrics_file)
    for step in range(5):
        before = time.monotonic()
        run.log({"loss": float(step)}, step=step)
        (record,) = tail.read_new()
        assert record["loss"] == step
        assert time.monotonic() - before < 1.0
    run.finish()


def test_run_files_follow_the_umask(tmp_path: Path) -> None:
    """Others on a shared machine read runs as they read any file the user makes."""
    import os

    from dltui.store import rundir as rd

    umask = os.umask(0o022)
    try:
        spec = rd.RunSpec(run_id="r1", experiment="e", argv=[], params={}, cwd=str(tmp_path))
        run = rd.create_run_dir(tmp_path, spec, state=rd.QUEUED)
        run.write_status(state=rd.RUNNING)
        for name in (rd.RUN_FILE, rd.STATUS_FILE):
            assert (run.path / name).stat().st_mode & 0o777 == 0o644
        assert run.path.stat().st_mode & 0o777 == 0o755
    finally:
        os.umask(umask)
