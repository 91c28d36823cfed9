"""The metrics stream reader: resumes at its offset, a torn last line is not an error."""

from __future__ import annotations

import json
import math
from pathlib import Path

from dltui.tracking.stream import (
    MetricHistory,
    MetricTail,
    downsample,
    guess_mode,
    summary_of_stream,
)


def test_torn_last_line_waits_for_its_end(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    tail = MetricTail(path)
    assert tail.read_new() == []  # no file yet
    path.write_text('{"step": 1, "loss": 0.5}\n{"step": 2, "lo')
    assert tail.read_new() == [{"step": 1, "loss": 0.5}]
    assert tail.read_new() == []
    with open(path, "a") as out:
        out.write('ss": 0.4}\n')
    assert tail.read_new() == [{"step": 2, "loss": 0.4}]
    with open(path, "a") as out:
        out.write('garbage\n{"step": 3, "loss": 0.3}\n')
    assert tail.read_new() == [{"step": 3, "loss": 0.3}]


def test_history_last_best_and_progress(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    records = [{"step": 1, "time": 10.0, "val_acc": 0.5, "train_loss": 2.0},
               {"step": 2, "time": 11.0, "val_acc": 0.8, "train_loss": float("nan")},
               {"step": 3, "time": 12.0, "val_acc": 0.7, "train_loss": 1.0, "note": "x"},
               {"step": 3, "time": 12.0, "_total": 10}]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    history = MetricHistory(path)
    assert history.update()
    assert not history.update()
    assert history.total == 10 and history.last_step == 3
    summary = summary_of_stream(path).metrics(mode_of={"val_acc": "max"})
    assert summary["val_acc"] == {"last": 0.7, "best": 0.8, "count": 3}
    assert summary["train_loss"]["best"] == 1.0
    assert set(summary) == {"val_acc", "train_loss"}


def test_downsample_drops_non_finite_and_keeps_shape() -> None:
    values = [float(i) for i in range(1000)] + [math.nan, math.inf]
    points = downsample(values, 50)
    assert len(points) == 50
    assert all(math.isfinite(p) for p in points)
    assert points == sorted(points)
    assert downsample([1.0, math.nan, 2.0], 10) == [1.0, 2.0]


def test_guess_mode() -> None:
    assert guess_mode("val_acc") == "max"
    assert guess_mode("train_loss") == "min"
    assert guess_mode("test_bleu4") == "max"
    assert guess_mode("i_r1") == "max"
    assert guess_mode("median_rank") == "min"


def test_one_progress_and_eta_rule(tmp_path: Path) -> None:
    from dltui.tracking.progress import progress_of_history

    path = tmp_path / "metrics.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in [
        {"step": 0, "time": 100.0, "_total": 10},
        {"step": 2, "time": 120.0, "loss": 1.0, "_total": 10},
        # A loss every N batches at a global batch step: not how far along the run is.
        {"step": 37, "time": 120.0, "batch_loss": 0.9}]))
    history = MetricHistory(path)
    history.update()
    live = progress_of_history(history, params={}, started=100.0, is_final=False, now=125.0)
    # 10 s a step so far, 8 steps left, 5 s of them gone since the last record.
    assert (live.step, live.total, live.eta) == (2, 10, 75.0)
    done = progress_of_history(history, params={}, started=100.0, is_final=True, now=125.0)
    assert done.eta is None and done.total == 10
    path.write_text('{"step": 1, "time": 110.0, "loss": 2.0}\n')
    by_epochs = MetricHistory(path)
    by_epochs.update()
    guess = progress_of_history(by_epochs, params={"epochs": 3}, started=100.0,
                                is_final=False, now=110.0)
    assert (guess.total, guess.eta) == (3, 20.0)  # the epochs param when the stream has none
