"""An untouched Lightning script under `dltui run`: dltui's values and steps are those of
Lightning's own CSVLogger; without the integration, its progress bar gives one record a
step and each validation once."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from conftest import Project, records, script

PY = sys.executable


def manifest(autolog: bool, bar: str) -> str:
    return f"""
[experiments.fit]
command = ["{PY}", "{script('lightning_fit.py')}", "{bar}"]
autolog = {str(autolog).lower()}
"""


def points(rows: list[dict]) -> set[tuple[int, str, float]]:
    return {(row["step"], key, value) for row in rows for key, value in row.items()
            if key not in ("step", "time") and not key.startswith(("_", "sys/"))}


def run_fit(project: Project, autolog: bool, bar: str = "default") -> Path:
    project.write(manifest(autolog, bar))
    run = project.run_to_success("fit")
    return run


def csv_points(project: Project) -> set[tuple[int, str, float]]:
    with open(project.root / "lightning_logs" / "csv" / "version_0" / "metrics.csv") as rows:
        return {(int(row["step"]), key, float(value)) for row in csv.DictReader(rows)
                for key, value in row.items() if key != "step" and value != ""}


def test_self_log_values_arrive_at_lightnings_steps(project: Project) -> None:
    run = run_fit(project, autolog=True)  # the Rich bar: only its last frame is printed
    expected = csv_points(project)
    assert {name for _, name, _ in expected} == {"epoch", "train_loss", "val_loss", "val_acc"}
    assert points(records(run)) == expected
    # Validation values at the step of the epoch they close, once each.
    val = sorted((step, value) for step, name, value in expected if name == "val_loss")
    assert [step for step, _ in val] == [7, 15, 23]
    assert [s for s, n, _ in points(records(run)) if n == "val_loss"].count(7) == 1
    totals = [r["_total"] for r in records(run) if "_total" in r]
    assert totals == [24]  # 3 epochs of 8 batches: progress and ETA
    log = (run / "output.log").read_text()
    assert "max_epochs=3" in log  # printed, and not a metric:
    assert not any(k in ("using", "max_epochs", "v_num") for r in records(run) for k in r)


def test_without_autolog_the_tqdm_bar_gives_one_record_a_step(project: Project) -> None:
    run = run_fit(project, autolog=False, bar="tqdm")
    rows = records(run)
    train = [r["step"] for r in rows if "train_loss" in r]
    assert train == list(range(1, 25))  # 24 batches, not one record per redraw
    val = [r["step"] for r in rows if "val_loss" in r]
    assert val == [8, 16, 24]  # each epoch's validation once, at the epoch's end
    assert [r["val_acc"] for r in rows if "val_acc" in r] == [
        round(v, 3) for _, n, v in sorted(csv_points(project)) if n == "val_acc"]
    assert not any(k in ("using", "max_epochs", "v_num") for r in rows for k in r)
