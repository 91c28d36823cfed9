"""The dashboard's pure parts: what widgets draw (as strings), the run catalog, the
run follower, queue reordering, and the import boundary (no torch)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from dltui.errors import UserError
from dltui.manifest import parse_manifest
from dltui.queue.gpus import Gpu
from dltui.queue.order import move_queued, queued_runs, reorder_queue
from dltui.store import rundir as rd
from dltui.store.active import mark_active
from dltui.store.runs import RunStore, load_run
from dltui.tui.catalog import RunCatalog, params_key
from dltui.tui.chart import ChartSeries
from dltui.tui.feeds import RunFollower
from dltui.tui.screens.compare import export_stem, write_exports
from dltui.tui.screens.experiments import entry_row, filter_entries
from dltui.tui.screens.launch_dialog import parse_pairs
from dltui.tui.screens.params import report_rows, totals_text
from dltui.tui.screens.queue import COLUMNS as QUEUE_COLUMNS
from dltui.tui.screens.queue import queue_rows
from dltui.tui.screens.runs import filter_records, sort_records
from dltui.tui.text import clean, overrides_text, params_label, state_counts_label
from dltui.tui.views import MetricDigest, RunDigest, RunView
from dltui.tui.widgets.gpu_panel import bar, gpu_line, render_gpus
from dltui.tui.widgets.metric_panel import chart_lines, render_metrics
from dltui.tui.widgets.run_status import render_run_status
from dltui.tui.widgets.sparkline import block_chart, sparkline
from dltui.tui.widgets.virtual_table import Column, Row, fit_widths, layout_line
from dltui.views.compare import compare

MANIFEST = """
[experiments.sweep]
command = ["python", "train.py", "{lr}"]
params = { epochs = 3 }
sweep = { lr = [0.1, 0.01] }
metric = "acc"
mode = "max"
group = "g"
tags = ["cpu"]

[experiments.plain]
command = ["python", "other.py"]
"""


def make_run(runs: Path, experiment: str, run_id: str, params: dict[str, object], *,
             state: str = rd.SUCCEEDED, accs: tuple[float, ...] = (), when: float = 1.7e9,
             order: float | None = None) -> rd.RunDir:
    spec = rd.RunSpec(run_id=run_id, experiment=experiment, argv=["python", "train.py"],
                      params=params, cwd=str(runs.parent), metric="acc", mode="max")
    status: dict[str, object] = {"state": state, "queued_at": when, "queue_order": order or when}
    if state != rd.QUEUED:
        status.update(started_at=when + 1, ended_at=when + 61, exit_code=0)
        status["metrics"] = {"acc": {"last": accs[-1], "best": max(accs), "count": len(accs)}
                             } if accs else {}
    run = rd.create_run_dir(runs, spec, **status)
    with open(run.metrics_file, "w") as out:
        for step, acc in enumerate(accs, 1):
            out.write(json.dumps({"step": step, "time": when + step, "acc": acc}) + "\n")
    if state == rd.QUEUED:
        mark_active(runs, run.path)
    return run


# -- curves ------------------------------------------------------------------------------------
def test_sparkline_scales_between_lowest_and_highest() -> None:
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7], 8) == "▁▂▃▄▅▆▇█"
    assert sparkline([3, 3, 3], 5) == "▄▄▄"
    assert sparkline([], 5) == ""
    assert sparkline([1.0, 2.0], 0) == ""


def test_sparkline_never_breaks_on_nan_or_inf_and_keeps_its_width() -> None:
    values = [1.0, math.nan, 2.0, math.inf, -math.inf, 3.0] * 1000
    line = sparkline(values, 20)
    assert len(line) == 20 and set(line) <= set("▁▂▃▄▅▆▇█")
    assert sparkline([math.nan, math.inf], 10) == ""


def test_block_chart_is_height_lines_and_widens_a_short_curve() -> None:
    rows = block_chart([0.0, 1.0], 6, 2)
    assert rows == ["   ███", "▁▁▁███"]
    assert block_chart(list(range(1000)), 30, 3)[0].endswith("█")
    assert all(len(r) <= 30 for r in block_chart(list(range(1000)), 30, 3))
    assert block_chart([], 10, 3) == ["", "", ""]


# -- text --------------------------------------------------------------------------------------
def test_clean_drops_colour_codes_and_control_characters() -> None:
    assert clean("\x1b[32mINFO\x1b[0m: ok\x07") == "INFO: ok"
    assert clean("50%\r100%") == "100%"
    assert clean("[bold]x[/bold]") == "[bold]x[/bold]"


def test_state_counts_and_params_labels() -> None:
    assert state_counts_label({"running": 1}) == "▶ running"
    assert state_counts_label({"succeeded": 3}) == "✓3 succeeded"
    assert state_counts_label({"succeeded": 2, "running": 1, "queued": 4}) == "▶1 …4 ✓2"
    assert params_label({"lr": 0.1, "name": "a b", "flag": True}) == "lr=0.1 name=a b flag=true"
    assert params_label({"lr": 0.1, "epochs": 3}, ["epochs"]) == "epochs=3"
    assert overrides_text({"lr": 0.01, "name": "a b"}) == 'lr=0.01 name="a b"'
    assert parse_pairs(overrides_text({"lr": 0.01, "name": "a b"}))[1] == {
        "lr": [0.01], "name": ["a b"]}


def test_parse_pairs_gives_sweeps_and_clear_errors() -> None:
    assert parse_pairs("lr=0.1,0.01 epochs=3")[1] == {"lr": [0.1, 0.01], "epochs": [3]}
    assert parse_pairs("")[1] == {}
    with pytest.raises(UserError, match="not key=value"):
        parse_pairs("lr")
    with pytest.raises(UserError, match="close the quotes"):
        parse_pairs('lr="0.1')


# -- tables ------------------------------------------------------------------------------------
def test_virtual_table_layout_fits_cuts_and_aligns() -> None:
    columns = [Column("a", "Name", max_width=6), Column("b", "N", align="right"),
               Column("c", "Fixed", width=3)]
    rows = [Row("1", ("short", "7", "xyz")), Row("2", ("a-long-name", "123", "abcdef"))]
    widths = fit_widths(columns, rows)
    assert widths == [6, 3, 3]
    assert layout_line(rows[1].cells, columns, widths) == "a-lon…  123  ab…"
    assert layout_line(rows[0].cells, columns, widths) == "short     7  xyz"
    assert layout_line(["a\x1b[1mb"], columns[:1], [6]) == "a[1mb "


def test_filter_and_sort_of_run_records(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    make_run(runs, "sweep", "20260101-000001-aaaa", {"epochs": 3, "lr": 0.1}, accs=(0.5, 0.7))
    make_run(runs, "sweep", "20260101-000002-bbbb", {"epochs": 3, "lr": 0.01}, accs=(0.9,))
    make_run(runs, "plain", "20260101-000003-cccc", {}, accs=())
    catalog = RunCatalog(RunStore(runs), parse_manifest(MANIFEST, path=tmp_path / "m.toml"))
    catalog.scan()
    records = list(catalog.snapshot().records)
    assert [r.ref for r in filter_records(records, "sweep 0.01")] == [
        "sweep/20260101-000002-bbbb"]
    best_first = sort_records(records, "best", False)
    assert [r.cells[5] for r in best_first] == ["0.9", "0.7", ""]
    assert [r.info.run_id[-4:] for r in sort_records(records, "run", True)] == [
        "cccc", "bbbb", "aaaa"]


# -- widgets ------------------------------------------------------------------------------------
def test_render_metrics_titles_values_and_curves() -> None:
    digest = MetricDigest("acc", 0.9, 0.95, "max", 12, tuple(float(i) for i in range(12)))
    empty = MetricDigest("loss", None, None, "min", 3)
    series = [ChartSeries(d.name, d.xs(), d.points, d.mode) for d in (digest, empty)]
    text = render_metrics([digest, empty], series, 40, 12).plain
    lines = text.split("\n")
    assert lines[0] == "acc  last 0.9  best 0.95 (max)  12 poin…"  # cut to the width
    assert len(lines) == 12 and all(len(line) <= 40 for line in lines)
    assert lines[6] == "loss  last   best  (min)  3 points"
    assert "no finite values to draw" in text
    assert render_metrics([], [], 40, 5).plain == "no metrics yet"
    assert chart_lines(2, 12) == 6 and chart_lines(10, 5) == 5


def test_render_metrics_shows_a_metric_name_literally() -> None:
    text = render_metrics([MetricDigest("[bold]x", 1.0, 1.0, "min", 1, (1.0,))],
                          [ChartSeries("x", (1.0,), (1.0,))], 50, 3)
    assert text.plain.startswith("[bold]x  last 1  best 1 (min)  1 point\n")


def test_gpu_lines_and_nothing_without_gpus() -> None:
    assert bar(0.5, 4) == "██░░" and bar(None, 3) == "···"
    line = gpu_line(Gpu(0, "NVIDIA H100", 81920.0, 40960.0, 75.0))
    assert line.startswith("GPU 0  NVIDIA H100")
    assert "mem ██████░░░░░░  40.0/80.0 GiB" in line and line.endswith("util █████████░░░  75%")
    assert "n/a" in gpu_line(Gpu(1, "x", None, None, None))
    assert render_gpus([]).plain == ""


def test_run_status_lines(tmp_path: Path) -> None:
    run = make_run(tmp_path / "runs", "sweep", "20260101-000001-aaaa", {"lr": "exp[/x]"},
                   accs=(0.5, 0.7))
    info = load_run(run.path)
    assert info is not None
    metrics = {name: MetricDigest(name, last, last, "max", 2)
                for name, last in (("loss", 0.31), ("acc", 0.7))}
    view = RunView(info, RunDigest(metrics, 2, 4), (), 0, {"test_acc": 0.75, "note": "[red]x"})
    text = render_run_status(view, tensorboard="http://127.0.0.1:6006/").plain
    assert text.splitlines() == [
        "✓ succeeded  sweep/20260101-000001-aaaa  CPU  exit code 0",
        "progress ██████████░░░░░░░░░░ 2/4  took 1:00",
        "last     acc 0.7  loss 0.31",  # the run's metric first
        "params   lr=exp[/x]",
        "summary  test_acc=0.75  note=[red]x",
        "TensorBoard http://127.0.0.1:6006/",
    ]
    assert render_run_status(None).plain == "reading the run…"


# -- catalog ------------------------------------------------------------------------------------
def test_catalog_rows_per_experiment_and_sweep(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    manifest = parse_manifest(MANIFEST, path=tmp_path / "m.toml")
    make_run(runs, "sweep", "20260101-000001-aaaa", {"epochs": 3, "lr": 0.1},
             accs=(0.5, 0.7, 0.6))
    make_run(runs, "sweep", "20260101-000002-bbbb", {"epochs": 3, "lr": 0.01}, accs=(0.8,),
             when=1.8e9)
    catalog = RunCatalog(RunStore(runs), manifest)
    assert catalog.scan()
    entries = {e.key: e for e in catalog.snapshot().entries}
    assert list(entries) == ["sweep", "sweep#0", "sweep#1", "plain"]
    parent, child = entries["sweep"], entries["sweep#0"]
    assert (parent.runs, parent.best, parent.states) == (2, 0.8, {"succeeded": 2})
    assert parent.latest is not None and parent.latest.run_id.endswith("bbbb")
    assert (child.label, child.best, child.params) == ("lr=0.1", 0.7, {"lr": 0.1})
    assert child.curve == (0.5, 0.7, 0.6)
    assert entry_row(child).cells[0] == "└ lr=0.1"
    assert entries["plain"].runs == 0 and entries["plain"].latest is None
    assert [e.key for e in filter_entries(tuple(entries.values()), "0.01")] == [
        "sweep", "sweep#1"]
    assert [e.key for e in filter_entries(tuple(entries.values()), "cpu")] == [
        "sweep", "sweep#0", "sweep#1"]
    assert params_key({"b": 1, "a": 2}) == params_key({"a": 2, "b": 1})


def test_a_smoke_run_counts_for_its_sweep_row(tmp_path: Path) -> None:
    """`--set epochs=1` adds a param; the run still belongs to its lr's row."""
    runs = tmp_path / "runs"
    manifest = parse_manifest(MANIFEST, path=tmp_path / "m.toml")
    make_run(runs, "sweep", "20260101-000001-aaaa", {"epochs": 1, "lr": 0.01}, accs=(0.4,))
    catalog = RunCatalog(RunStore(runs), manifest)
    assert catalog.scan()
    entries = {e.key: e for e in catalog.snapshot().entries}
    assert (entries["sweep#0"].runs, entries["sweep#1"].runs) == (0, 1)
    assert entries["sweep#1"].best == 0.4


def test_catalog_finds_new_runs_and_follows_active_ones(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    manifest = parse_manifest(MANIFEST, path=tmp_path / "m.toml")
    catalog = RunCatalog(RunStore(runs), manifest)
    catalog.scan()
    assert not catalog.snapshot().records
    queued = make_run(runs, "sweep", "20260101-000001-aaaa", {"epochs": 3, "lr": 0.1},
                      state=rd.QUEUED)
    assert catalog.poll()  # the active index names it at once
    snapshot = catalog.snapshot()
    assert [i.state for i in snapshot.active] == ["queued"]
    assert not catalog.poll()  # nothing changed: no new snapshot needed
    queued.write_status(state=rd.SUCCEEDED, started_at=1, ended_at=2, exit_code=0,
                        metrics={"acc": {"last": 0.4, "best": 0.4, "count": 1}})
    (runs / ".active" / queued.run_id).unlink()
    assert catalog.poll()
    snapshot = catalog.snapshot()
    assert not snapshot.active and snapshot.records[0].cells[2] == "✓ succeeded"
    made = make_run(runs, "plain", "20260101-000009-dddd", {}, accs=(0.1,))
    assert catalog.scan() and "plain/20260101-000009-dddd" in catalog.snapshot().by_ref
    assert not catalog.scan()
    rd.RunDir(made.path)  # removed elsewhere: the next scan drops it
    import shutil

    shutil.rmtree(made.path)
    assert catalog.scan() and "plain/20260101-000009-dddd" not in catalog.snapshot().by_ref


# -- run follower --------------------------------------------------------------------------------
def test_follower_reads_only_what_is_new(tmp_path: Path) -> None:
    run = make_run(tmp_path / "runs", "sweep", "20260101-000001-aaaa", {"lr": 0.1},
                   accs=(0.5,))
    run.log_file.write_bytes(b"first\n\x1b[31m[bold]red[/bold]\x1b[0m\npartial")
    follower = RunFollower(run.path, tail=3)
    view = follower.read()
    assert view is not None
    assert view.log_tail == ("first", "[bold]red[/bold]") and view.log_seq == 2
    assert view.digest.metrics["acc"].last == 0.5
    assert follower.read() is None  # nothing new
    with open(run.log_file, "ab") as out:
        out.write(b" line\nmore\nand more\n")
    with open(run.metrics_file, "a") as out:
        out.write(json.dumps({"step": 2, "acc": 0.9}) + "\n")
    view = follower.read()
    assert view is not None
    assert view.log_tail == ("partial line", "more", "and more") and view.log_seq == 5
    assert view.digest.metrics["acc"].points == (0.5, 0.9)
    with open(run.log_file, "ab") as out:
        out.write(b"a line alone\n")
    alone = follower.read()
    assert alone is not None and alone.log_tail[-1] == "a line alone"
    assert alone.digest is view.digest  # no new value: the curves are not cut down again


def test_follower_starts_from_the_end_of_a_huge_log(tmp_path: Path) -> None:
    run = make_run(tmp_path / "runs", "plain", "20260101-000001-aaaa", {})
    run.log_file.write_text("".join(f"line {i}\n" for i in range(100_000)))
    view = RunFollower(run.path, tail=10).read()
    assert view is not None and view.log_tail[-1] == "line 99999" and len(view.log_tail) == 10


# -- queue ----------------------------------------------------------------------------------------
def test_queue_moves_a_run_and_keeps_later_launches_after(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    for name, order in (("a", 100.0), ("b", 100.0), ("c", 100.0), ("d", 200.0)):
        make_run(runs, "plain", f"20260101-00000{ord(name) - 96}-{name * 4}", {},
                 state=rd.QUEUED, order=order)
    store = RunStore(runs)
    ids = [i.run_id[-1] for i in queued_runs(store)]
    assert ids == ["a", "b", "c", "d"]
    order = move_queued(store, "20260101-000003-cccc", -2)
    assert [i.run_id[-1] for i in order] == ["c", "a", "b", "d"]
    assert [i.run_id[-1] for i in queued_runs(store)] == ["c", "a", "b", "d"]
    assert all(100.0 <= float(i.status.queue_order) <= 200.0 for i in queued_runs(store))
    assert [i.run_id[-1] for i in move_queued(store, "20260101-000003-cccc", -1)] == list("cabd")
    assert [i.run_id[-1] for i in move_queued(store, "20260101-000001-aaaa", 9)] == list("cbda")
    reorder_queue(store, ["20260101-000004-dddd"])
    assert [i.run_id[-1] for i in queued_runs(store)] == list("dcba")
    with pytest.raises(UserError, match="not queued"):
        move_queued(store, "nope", 1)


def test_queue_rows_by_slot_then_queue_order(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    for name, order in (("a", 2.0), ("b", 1.0)):
        make_run(runs, "plain", f"20260101-00000{ord(name) - 96}-{name * 4}", {"lr": 1},
                 state=rd.QUEUED, order=order)
    active = RunStore(runs).active()
    rows = queue_rows(active, {}, [Gpu(0, "gpu", 1.0, 0.5, 10.0)])
    assert [r.cells[0] for r in rows] == ["GPU 0", "#1", "#2"]
    assert rows[0].cells[3] == "idle" and rows[1].key.endswith("bbbb")
    assert [r.cells[0] for r in queue_rows(active, {})] == ["#1", "#2"]


def test_a_running_runs_row_shows_what_it_uses_now(tmp_path: Path) -> None:
    from dltui.tui.views import MetricDigest, RunDigest

    runs = tmp_path / "runs"
    run = make_run(runs, "plain", "20260101-000001-aaaa", {"lr": 1}, state=rd.QUEUED)
    run.write_status(state=rd.RUNNING, gpu_ids=[], pid=os.getpid())
    (info,) = RunStore(runs).active()
    digest = RunDigest({"acc": MetricDigest("acc", 0.5, 0.5, "max", 1),
                        "sys/cpu_percent": MetricDigest("sys/cpu_percent", 97.6, 97.6, "max", 1),
                        "sys/rss_mb": MetricDigest("sys/rss_mb", 812.0, 812.0, "max", 1)},
                       step=1, total=3)
    (row,) = queue_rows([info], {info.ref: digest})
    cells = dict(zip([c.key for c in QUEUE_COLUMNS], row.cells, strict=True))
    assert cells["use"].startswith("cpu 98%") and "812" in cells["use"]
    assert cells["metric"] == "acc 0.5"  # the training metric, not a system figure


# -- exports and params ----------------------------------------------------------------------
def test_exports_write_markdown_csv_and_latex(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    make_run(runs, "sweep", "20260101-000001-aaaa", {"lr": 0.1}, accs=(0.5, 0.7))
    make_run(runs, "sweep", "20260101-000002-bbbb", {"lr": 0.01}, accs=(0.9,))
    table = compare(RunStore(runs).runs())
    paths = write_exports(table, tmp_path, export_stem("group g/1"))
    assert [p.name for p in paths] == ["compare-group-g-1.md", "compare-group-g-1.csv",
                                       "compare-group-g-1.tex"]
    assert paths[0].read_text().startswith("| Run | acc | lr |")  # the metric first
    assert "\\begin{tabular}" in paths[2].read_text()


def test_param_rows_and_totals() -> None:
    from dltui.params import count_parameters, parse_spec

    report = count_parameters(parse_spec(
        "28x28x3 | conv 8 5x5 | maxpool 4 stride 2 | flatten | linear 10"))
    rows = report_rows(report)
    assert [r[1].plain for r in rows] == ["input 28x28x3", "conv 8 5x5", "maxpool 4 stride 2",
                                          "flatten", "linear 10"]
    assert [r[3].plain for r in rows] == ["0", "608", "0", "0", "9,690"]
    assert rows[1][4].plain == "5*5*3*8 + 8 = 608"
    assert totals_text(report).plain.startswith("total 10,298   trainable 10,298")


# -- boundaries ---------------------------------------------------------------------------------
def test_building_the_dashboard_never_imports_torch(tmp_path: Path) -> None:
    (tmp_path / "experiments.toml").write_text(MANIFEST)
    code = textwrap.dedent(f"""
        import sys
        from dltui.manifest import load_manifest
        from dltui.tui.app import make_app
        from dltui.tui.screens import compare, experiments, params, queue, run, runs
        app = make_app(manifest=load_manifest({str(tmp_path / "experiments.toml")!r}))
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "torchvision",
                                                                     "transformers"))
        print(heavy)
    """)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert time.perf_counter() - started < 30
