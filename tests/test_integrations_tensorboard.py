"""An untouched script logging through TensorBoard's SummaryWriter (torch's and
tensorboardX's): the dashboard gets what TensorBoard itself reads from its event files."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import Project, records, script

PY = sys.executable


def scalars(folder: Path, tag: str) -> list[tuple[int, float]]:
    events = EventAccumulator(str(folder))
    events.Reload()
    return [(e.step, e.value) for e in events.Scalars(tag)]


@pytest.mark.parametrize("writer", ["torch", "tensorboardX"])
def test_add_scalar_and_add_scalars_reach_the_run(project: Project, writer: str) -> None:
    project.write(f"""
[experiments.tb]
command = ["{PY}", "{script('summary_writer.py')}", "{writer}"]
""")
    run = project.run_to_success("tb")
    rows = records(run)
    ours: dict[str, list[tuple[int, float]]] = {}
    for row in rows:
        for key, value in row.items():
            if key not in ("step", "time") and not key.startswith("_"):
                ours.setdefault(key, []).append((row["step"], value))
    own = project.root / "script_tb"
    assert ours["loss"] == [(s, pytest.approx(v, rel=1e-6)) for s, v in scalars(own, "loss")]
    assert len(ours["loss"]) == 10
    assert ours["final/lr"] == [(0, pytest.approx(0.001))]
    # add_scalars writes one folder a series, each with the main tag.
    for part in ("train", "val"):
        folder = own / f"acc_{part}" if writer == "torch" else own / "acc" / part
        theirs = scalars(folder, "acc")
        assert ours[f"acc/{part}"] == [(s, pytest.approx(v, rel=1e-6)) for s, v in theirs]
        assert [s for s, _ in theirs] == [2, 5, 8]
    # And the run's own event files have them too, for `dltui tensorboard`.
    assert [s for s, _ in scalars(run / "tb", "loss")] == list(range(10))
