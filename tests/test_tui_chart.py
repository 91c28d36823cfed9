"""The charts as strings, the curves they read, the columns that fit a narrow screen, and
the built-in tasks' batch loss as the dashboard reads it."""

from __future__ import annotations

import json
import math
import threading
import time
from pathlib import Path

from task_runs import metrics, run_launched

from dltui.tracking.stream import MetricHistory, MetricSeries
from dltui.tui.catalog import sweep_label
from dltui.tui.chart import BEST_MARK, ChartOptions, ChartSeries, ema, nice_ticks, render_chart
from dltui.tui.curves import thin
from dltui.tui.text import column_numbers, number, plural
from dltui.tui.watch import FolderWatch
from dltui.tui.widgets.run_status import exit_label
from dltui.tui.widgets.virtual_table import Column, fit_to

STEPS = tuple(float(s) for s in range(1, 21))


def rising(top: float, rate: float) -> tuple[float, ...]:
    return tuple(top * (1 - math.exp(-s / rate)) for s in STEPS)


def test_one_series_has_y_ticks_an_x_axis_and_its_best_point_marked() -> None:
    lines = render_chart([ChartSeries("val_acc", STEPS, rising(0.9, 5), "max")], 50, 8
                         ).plain.split("\n")
    assert len(lines) == 8 and all(len(line) <= 50 for line in lines)
    assert lines[0] == "━ val_acc 0.8835"  # the legend: the last value
    assert lines[-1].endswith(" step") and "10" in lines[-1] and "└" in lines[-1]
    ticks = [line.split("┤")[0].strip() for line in lines[1:-1] if "┤" in line]
    assert len(ticks) >= 2 and all(float(t) <= 0.9 for t in ticks)
    assert lines[1].rstrip().endswith(BEST_MARK)  # the highest point, at the top right
    assert any(0x2800 < ord(c) <= 0x28FF for c in "".join(lines))  # braille dots


def test_three_series_overlaid_each_in_the_legend() -> None:
    series = [ChartSeries(f"lr={lr}", STEPS, rising(top, 4), "max")
              for lr, top in ((0.1, 0.9), (0.01, 0.7), (0.001, 0.2))]
    text = render_chart(series, 70, 10)
    legend = text.plain.split("\n")[0]
    assert legend == "━ lr=0.1 0.8939  ━ lr=0.01 0.6953  ━ lr=0.001 0.1987"
    assert text.plain.count(BEST_MARK) == 3
    styles = {str(span.style) for span in text.spans}
    assert {"cyan", "magenta", "yellow"} <= styles


def test_smoothing_draws_the_ema_over_the_faint_values() -> None:
    noisy = tuple(1.0 + (0.5 if s % 2 else -0.5) for s in STEPS)
    assert ema([1.0, 1.0, 1.0], 0.9) == [1.0, 1.0, 1.0]  # debiased: no pull towards zero
    smoothed = ema(noisy, 0.9)
    assert max(smoothed[5:]) - min(smoothed[5:]) < 0.3
    text = render_chart([ChartSeries("loss", STEPS, noisy)], 40, 6, ChartOptions(smoothing=0.9))
    styles = {str(span.style) for span in text.spans}
    assert "dim cyan" in styles and "cyan" in styles
    assert text.plain.split("\n")[0] == "━ loss 0.5"  # the legend reads the raw value


def test_log_y_ticks_are_powers_of_ten_and_skip_what_is_not_positive() -> None:
    loss = tuple(2.0 * 10 ** (-s / 5) for s in STEPS)
    text = render_chart([ChartSeries("loss", (*STEPS, 21.0), (*loss, 0.0))], 40, 10,
                        ChartOptions(log_y=True))
    ticks = [line.split("┤")[0].strip() for line in text.plain.split("\n") if "┤" in line]
    assert {"1", "0.01"} <= set(ticks)
    assert BEST_MARK in text.plain  # the lowest positive value; the 0 is not drawn
    narrow = render_chart([ChartSeries("acc", (1.0, 2.0, 3.0, 4.0), (0.62, 0.71, 0.78, 0.81))],
                          40, 10, ChartOptions(log_y=True))
    ticks = [line.split("┤")[0].strip() for line in narrow.plain.split("\n") if "┤" in line]
    assert ticks == ["0.8", "0.7"]  # within a decade: round values, not 10 ** 0.1 steps


def test_the_cursor_reads_every_series_at_its_step() -> None:
    series = [ChartSeries("a", STEPS, STEPS), ChartSeries("b", STEPS, tuple(-s for s in STEPS))]
    text = render_chart(series, 60, 8, ChartOptions(cursor=5.0))
    assert text.plain.split("\n")[0] == "step 5  ━ a 5  ━ b -5"
    assert any("on grey30" in str(span.style) for span in text.spans)


def test_nothing_to_draw_and_nan_are_said_not_drawn() -> None:
    assert render_chart([], 30, 4).plain.split("\n")[0] == "nothing logged yet"
    text = render_chart([ChartSeries("x", (1.0, 2.0), (math.nan, math.inf))], 30, 4)
    assert "no finite values to draw" in text.plain
    assert len(nice_ticks(0.81, 0.83, 2)) >= 2
    assert nice_ticks(1, 4, 6, whole=True) == [1, 2, 3, 4]


def test_numbers_keep_their_digits_and_words_their_number() -> None:
    assert [number(v) for v in (0.6, 2.205, 0.05134, 0.123456, 770218)] == [
        "0.6", "2.205", "0.05134", "0.1235", "770,218"]
    assert column_numbers([2.205, 2.3, 2.302, None]) == ["2.205", "2.300", "2.302", ""]
    assert column_numbers([0.0513, 0.6769, 2.284]) == ["0.051", "0.677", "2.284"]
    assert column_numbers([0.6]) == ["0.6"] and column_numbers([0.6, 0.51]) == ["0.60", "0.51"]
    assert column_numbers([0.00012, 0.5]) == ["1.200e-04", "0.5"]
    assert plural(1, "run") == "1 run" and plural(10_000, "point") == "10,000 points"
    assert exit_label(-15) == "stopped (SIGTERM)" and exit_label(1) == "exit code 1"


def test_sweep_rows_are_named_by_the_values_that_differ() -> None:
    params = {"decoding": "greedy", "temperature": 1.0, "prompt": "a simple synthetic picture"}
    assert sweep_label(params, ["decoding", "temperature", "prompt"]) == \
        "greedy · 1 · a simple synthetic picture"
    assert sweep_label({**params, "prompt": ""}, ["prompt"]) == "prompt="
    assert sweep_label({"lr": 0.1}, ["lr"]) == "lr=0.1"


def test_narrow_tables_narrow_one_column_then_drop_the_least_needed() -> None:
    columns = [Column("name", "Name", min_width=10), Column("group", "Group", drop=2),
               Column("best", "Best"), Column("curve", "Curve", drop=1)]
    widths = [30, 10, 8, 16]
    assert fit_to(columns, widths, 200) == ([0, 1, 2, 3], widths)
    assert fit_to(columns, widths, 60) == ([0, 1, 2, 3], [18, 10, 8, 16])  # name narrowed
    assert fit_to(columns, widths, 40) == ([0, 2, 3], [10, 8, 16])  # and the group dropped
    assert fit_to(columns, widths, 30) == ([0, 2], [18, 8])  # the curve too


def test_curves_keep_step_time_and_shape_and_progress_comes_from_progress(
        tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    lines = [{"step": 0, "time": 100.0, "_total": 2}]
    lines += [{"step": b, "time": 100.0 + b, "batch_loss": 1 / b} for b in range(1, 7)]
    lines += [{"step": 1, "time": 107.0, "train_loss": 0.4}, {"step": 1, "_total": 2}]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    history = MetricHistory(path)
    assert history.update()
    assert history.last_step == 1 and history.total == 2  # the epoch, not batch 6
    assert history.series["batch_loss"].steps == [1, 2, 3, 4, 5, 6]
    assert history.series["batch_loss"].times[0] == 101.0
    core = MetricHistory(path)
    core.update()
    assert core.last_step == 1  # the CLI and the runner read progress the same way
    steps, values, times = thin(MetricSeries("x", list(map(float, range(1000))),
                                      [float(v) for v in range(1000)], [0.0] * 1000), 100)
    assert len(values) == 100 and steps[-1] == 999 and values[0] == 4.5


def test_a_folder_watch_wakes_at_a_change_and_sleeps_otherwise(tmp_path: Path) -> None:
    watch = FolderWatch()
    try:
        watch.watch([tmp_path])
        began = time.monotonic()
        assert watch.wait(0.2) is False
        assert time.monotonic() - began >= 0.19
        if watch.active:  # Linux: a write wakes the waiting thread at once
            writer = threading.Timer(0.05, lambda: (tmp_path / "m.jsonl").write_text("x\n"))
            writer.start()
            began = time.monotonic()
            assert watch.wait(5.0) is True
            assert time.monotonic() - began < 1.0
            writer.join()
            # Woken at once by a change, it still returns no sooner than `gap` after the
            # last look: a busy writer does not make its reader look more often.
            looked = time.monotonic()
            (tmp_path / "m.jsonl").write_text("y\n")
            assert watch.wait_apart(5.0, looked=looked, gap=0.3) is True
            assert time.monotonic() - looked >= 0.3
    finally:
        watch.close()


def test_the_cnn_logs_its_batch_loss_between_epochs(tmp_path: Path) -> None:
    params = {"epochs": 2, "train_count": 48, "val_count": 8, "test_count": 8,
              "batch_size": 8, "log_every": 2}
    done, run_dir = run_launched("cnn", "cnn", tmp_path / "runs", params, {})
    assert done.returncode == 0, done.stderr
    rows = metrics(run_dir)
    batch_steps = [row["step"] for row in rows if "batch_loss" in row]
    assert batch_steps == [2, 4, 6, 8, 10, 12]  # 6 batches an epoch, every second one
    assert [row["step"] for row in rows if "train_loss" in row] == [1, 2]
    history = MetricHistory(run_dir / "metrics.jsonl")
    history.update()
    assert history.last_step == 2 and history.total == 2
