"""pytorch/examples' mnist script, untouched, under `dltui run`: every printed loss at its
own step (the epoch and the `[128/1280 (10%)]` position), the test set's values at the
end of their epoch, in TensorBoard too."""

from __future__ import annotations

import json
import sys

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import Project, records, script

PY = sys.executable


def test_mnist_example_values_keep_their_steps(project: Project) -> None:
    project.write(f"""
[experiments.mnist]
command = ["{PY}", "{script('examples_mnist.py')}", "printed.json"]
""")
    run = project.run_to_success("mnist")
    printed = json.loads((project.root / "printed.json").read_text())
    rows = records(run)
    losses = [(r["step"], r["Loss"]) for r in rows if "Loss" in r]
    assert losses == [((epoch - 1) * 1280 + seen, loss) for epoch, seen, loss in printed["train"]]
    assert len(losses) == 8 and len({s for s, _ in losses}) == 8
    tests = [(r["step"], r["test_average_loss"], r["test_accuracy"]) for r in rows
             if "test_average_loss" in r]
    assert tests == [(1280 * (i + 1), pytest.approx(loss), pytest.approx(acc))
                     for i, (loss, acc) in enumerate(printed["test"])]
    assert not any("loss" in r for r in rows)  # no second `loss` beside `Loss`
    events = EventAccumulator(str(run / "tb"))
    events.Reload()
    assert [e.step for e in events.Scalars("Loss")] == [s for s, _ in losses]
