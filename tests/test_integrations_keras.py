"""An untouched Keras 3 script (torch backend) under `dltui run`: each epoch's values,
training and validation, are those of Keras' own History, at the batch step ending it."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from conftest import Project, records, script

# Imported by the script only, with the torch backend (keras' default needs tensorflow).
pytestmark = pytest.mark.skipif(importlib.util.find_spec("keras") is None,
                                reason="keras is not installed")
PY = sys.executable


def run_keras(project: Project, autolog: bool) -> tuple[list[dict], dict[str, list[float]]]:
    project.write(f"""
[experiments.keras]
command = ["{PY}", "{script('keras_fit.py')}", "history.json"]
env = {{ KERAS_BACKEND = "torch" }}
autolog = {str(autolog).lower()}
""")
    run = project.run_to_success("keras")
    rows = records(run)
    return rows, json.loads((project.root / "history.json").read_text())


def series(rows: list[dict], name: str) -> list[tuple[int, float]]:
    return [(r["step"], r[name]) for r in rows if name in r]


def test_fit_epochs_arrive_as_keras_recorded_them(project: Project) -> None:
    rows, history = run_keras(project, autolog=True)
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    for name, values in history.items():
        # 64 training samples in batches of 8: an epoch is 8 steps.
        assert series(rows, name) == [(8 * (i + 1), v) for i, v in enumerate(values)], name
    assert [r["_total"] for r in rows if "_total" in r] == [24]


def test_without_autolog_keras_lines_give_the_same_steps(project: Project) -> None:
    rows, history = run_keras(project, autolog=False)
    for name, values in history.items():
        assert series(rows, name) == [(8 * (i + 1), pytest.approx(v, abs=5e-5))
                                      for i, v in enumerate(values)], name
