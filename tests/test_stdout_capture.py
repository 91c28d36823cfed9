"""The run wrapper's output: every byte in output.log, as the script wrote it; metrics
from the lines that carry them, none from noise or from lines too long to be metrics."""

from __future__ import annotations

import json
import random
import sys

from conftest import Project, script

PY = sys.executable


def test_noise_and_long_lines_are_copied_not_parsed(project: Project) -> None:
    project.write(f"""
[experiments.noisy]
command = ["{PY}", "{script('noisy.py')}"]
""")
    project.cli("run", "noisy", check=True, timeout=120)
    (run,) = project.run_paths("noisy")
    expected = (b"x" * 20000 + b" loss=9.9\n" + random.Random(0).randbytes(4 << 20)
                + b"\nepoch 1 loss=0.5\n" + random.Random(1).randbytes(1 << 20)
                + b"\nepoch 2 loss=0.25\n")
    assert (run / "output.log").read_bytes() == expected
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [(r["step"], r["loss"]) for r in rows if "loss" in r] == [(1, 0.5), (2, 0.25)]
    assert all(set(r) <= {"step", "time", "loss", "_total"} for r in rows)
    status = project.status_of(run)
    assert status["state"] == "succeeded"
    assert set(status["metrics"]) == {"loss"}
