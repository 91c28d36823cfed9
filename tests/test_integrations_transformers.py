"""An untouched Hugging Face Trainer script under `dltui run`: dltui's values and steps are
the Trainer's own record (state.log_history), with or without the integration."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import Project, records, script

PY = sys.executable


def manifest(autolog: bool) -> str:
    return f"""
[experiments.hf]
command = ["{PY}", "{script('hf_trainer.py')}", "log_history.json"]
autolog = {str(autolog).lower()}
"""


def points(rows: list[dict]) -> list[tuple[int, str, float]]:
    """(step, name, value) of every value, in order."""
    return [(row["step"], key, value) for row in rows for key, value in row.items()
            if key not in ("step", "time") and not key.startswith(("_", "sys/"))]


def run_hf(project: Project, autolog: bool) -> tuple[Path, list[dict]]:
    project.write(manifest(autolog))
    run = project.run_to_success("hf")
    history = json.loads((project.root / "log_history.json").read_text())
    return run, history


def test_trainer_logs_arrive_as_the_trainer_recorded_them(project: Project) -> None:
    run, history = run_hf(project, autolog=True)
    expected = [(entry["step"], key, value) for entry in history
                for key, value in entry.items() if key != "step"]
    assert len(expected) > 40  # 8 train logs, 2 evals, the final summary
    assert points(records(run)) == expected  # exact: the callback sees the numbers
    rows = records(run)
    assert [r["_total"] for r in rows if "_total" in r] == [32]  # progress for the ETA
    # Counted once: the printed copies of these logs are not parsed again.
    assert sum(1 for _, key, _ in points(rows) if key == "loss") == 8
    events = EventAccumulator(str(run / "tb"))
    events.Reload()
    train = [(e["step"], e["loss"]) for e in history if "loss" in e]
    assert [(e.step, pytest.approx(e.value, rel=1e-6)) for e in events.Scalars("loss")] == train
    assert [e.step for e in events.Scalars("eval_loss")] == [16, 32]


def test_without_autolog_the_printed_logs_give_the_same_steps(project: Project) -> None:
    run, history = run_hf(project, autolog=False)
    rows = records(run)
    found = {(step, key): value for step, key, value in points(rows)}
    for entry in history:
        for key, value in entry.items():
            if key in ("step", "total_flos"):  # the printer drops total_flos
                continue
            assert found[(entry["step"], key)] == pytest.approx(value, rel=1e-3, abs=1e-9), key
    # The banner is not metrics: no `examples`, no `Batch size`, no step 32 before training.
    names = {key for _, key, _ in points(rows)}
    assert not names & {"examples", "size", "batch_size", "parameters", "steps", "device"}
    assert [r["step"] for r in rows if "loss" in r] == [4, 8, 12, 16, 20, 24, 28, 32]
