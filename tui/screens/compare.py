"""Compare: the engine's comparison of a group, a sweep or marked runs: the params that
differ, last and best metrics, parameter counts; sorted by any column; a chart of one
metric over every run; exported to Markdown, CSV and LaTeX under the runs directory."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, Static

from dltui.errors import UserError
from dltui.store.runs import RunInfo, load_run
from dltui.tracking.stream import MetricHistory
from dltui.tui.catalog import digest_history
from dltui.tui.screens.base import DashboardScreen
from dltui.tui.screens.folder_dialog import FolderDialog
from dltui.tui.text import STATE_STYLES, column_numbers, literal, plural
from dltui.tui.views import MetricDigest
from dltui.tui.widgets.line_chart import ChartKeys, LineChart
from dltui.views.compare import CompareTable, compare, sort_rows
from dltui.views.formats import render
from dltui.views.numbers import format_value
from dltui.views.selection import dropped_note, select_counted

EXPORTS = (("md", "md"), ("csv", "csv"), ("latex", "tex"))
_RIGHT = {"last", "best", "summary", "duration", "count", "p"}


def export_stem(title: str) -> str:
    """A file name from the comparison's title: `compare-group-demo`."""
    slug = re.sub(r"[^A-Za-z0-9_.+-]+", "-", title).strip("-.")[:60] or "runs"
    return f"compare-{slug}"


def write_exports(table: CompareTable, folder: Path, stem: str) -> list[Path]:
    """The table as Markdown, CSV and LaTeX files in `folder`; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt, suffix in EXPORTS:
        path = folder / f"{stem}.{suffix}"
        path.write_text(render(table, fmt), encoding="utf-8")
        written.append(path)
    return written


def run_curves(runs: list[RunInfo]) -> dict[str, dict[str, MetricDigest]]:
    """Every metric's curve of each run, by run ref (read from the metrics files)."""
    curves = {}
    for info in runs:
        history = MetricHistory(info.dir.metrics_file)
        history.update()
        curves[info.ref] = dict(digest_history(history, info).metrics)
    return curves


def column_cells(table: CompareTable) -> dict[str, list[str]]:
    """Each numeric column's cells with one number of decimals for the whole column."""
    cells = {}
    for column in table.columns:
        if column.kind in ("last", "best", "summary"):
            values = [row.get(column.key) for row in table.rows]
            shown = column_numbers(values)
            cells[column.key] = [s if s else format_value(v, column.kind)
                                 for s, v in zip(shown, values, strict=True)]
    return cells


def cell(value: object, kind: str, shown: str | None = None) -> Text:
    text = literal(shown if shown is not None else format_value(value, kind))
    if kind == "status":
        text.stylize(STATE_STYLES.get(str(value), ""))
    if kind in _RIGHT:
        text.justify = "right"
    return text


class CompareScreen(ChartKeys, DashboardScreen):
    shows_catalog = False  # its own feed (or none): the lists behind it refresh slowly
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("enter", "open", "Open run", priority=True),
        Binding("s", "sort", "Sort"),
        Binding("S", "reverse", "Reverse", show=False),
        Binding("m", "next_metric", "Chart metric"),
        Binding("e", "export", "Export"),
        Binding("w", "write_report", "Report", show=False),
        Binding("a", "all_runs", "All runs", show=False),
        *ChartKeys.CHART_BINDINGS,
    ]

    def __init__(self, title: str, selection: list[str], runs: list[Path] | None = None
                 ) -> None:
        super().__init__()
        self.heading = title
        self.selection = selection
        self.run_paths = runs
        self.table: CompareTable | None = None
        self.sort_key: str | None = None
        self.descending = False
        self.curves: dict[str, dict[str, MetricDigest]] = {}
        self.chart_metric: str | None = None
        self.all_runs = False  # every run of the selection, not the latest per param set

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(literal(f"comparing {self.heading}…"), id="compare-title")
        yield DataTable(id="compare", cursor_type="row", zebra_stripes=True)
        yield LineChart(id="compare-chart")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Compare"
        self.sub_title = self.heading
        self.load()

    @work(thread=True, exclusive=True, group="compare", exit_on_error=False)
    def load(self) -> None:
        dashboard = self.dashboard
        try:
            if self.run_paths is not None:  # chosen runs, read as they are now
                runs = [i for i in (load_run(p) for p in self.run_paths) if i is not None]
                considered = len(runs)
            else:
                runs, considered = select_counted(dashboard.store, self.selection,
                                                  manifest=dashboard.manifest,
                                                  all_runs=self.all_runs)
            table = compare(runs, labels=dashboard.labels_for(runs),
                            manifest=dashboard.manifest)
            table.note = dropped_note(len(runs), considered, show_all="a")
            curves = run_curves(runs)
        except UserError as err:
            self.app.call_from_thread(self._failed, err.message)
            return
        self.app.call_from_thread(self._show, table, curves)

    def _failed(self, message: str) -> None:
        self.query_one("#compare-title", Static).update(literal(message, "red"))

    def _show(self, table: CompareTable, curves: dict[str, dict[str, MetricDigest]]) -> None:
        self.table = table
        self.curves = curves
        if table.metric and self.sort_key is None:  # the order compare gave: best first
            keys = {c.key for c in table.columns}
            self.sort_key = next((k for k in (f"best:{table.metric}", f"last:{table.metric}",
                                              f"summary:{table.metric}") if k in keys), None)
            self.descending = table.mode == "max"
        elif self.sort_key in {c.key for c in table.columns}:  # read again: the same order
            sort_rows(table, self.sort_key, descending=self.descending)
        metrics = {name for found in curves.values() for name in found}
        if self.chart_metric not in metrics:
            self.chart_metric = table.metric or next(iter(self.chart_metrics_of(curves)), None)
        word = plural(len(table.rows), "run")
        if table.seed_groups:  # rows are configurations: mean ± std over their seeds
            word = (f"{plural(len(table.rows), 'configuration')} over seeds "
                    f"({sum(len(g) for g in table.seed_groups)} runs), mean ± std")
        metric = f", best {table.metric} ({table.mode}) first" if table.metric else ""
        note = f" · {table.note}" if table.note else ""
        self.query_one("#compare-title", Static).update(
            literal(f"{self.heading}: {word}{metric}{note}"))
        self._fill()
        self._chart()

    @staticmethod
    def chart_metrics_of(curves: dict[str, dict[str, MetricDigest]]) -> list[str]:
        return list(dict.fromkeys(name for found in curves.values() for name in found))

    def chart_metrics(self) -> list[str]:
        return self.chart_metrics_of(self.curves)

    def _chart(self) -> None:
        chart = self.query_one("#compare-chart", LineChart)
        if self.table is None or self.chart_metric is None:
            chart.curves = ()
            return
        labels = self._labels()
        chart.curves = tuple((labels[info.ref], self.curves[info.ref][self.chart_metric])
                             for info in self.table.runs
                             if self.chart_metric in self.curves.get(info.ref, {}))
        chart.options = replace(chart.options, title=self.chart_metric)

    def _labels(self) -> dict[str, str]:
        """Each run's name on the chart: the params that differ, else its id."""
        assert self.table is not None
        params = [c.key for c in self.table.columns if c.kind == "param"]
        labels = {}
        for row, info in zip(self.table.rows, self.table.runs, strict=True):
            text = " ".join(f"{key[6:]}={format_value(row.get(key), 'param')}" for key in params)
            labels[info.ref] = text or info.run_id
        return labels

    def action_all_runs(self) -> None:
        """Every run of the selection, or again the latest of each param set."""
        if self.run_paths is not None:
            self.notify("these are the runs marked: all of them are shown")
            return
        self.all_runs = not self.all_runs
        self.notify("every run" if self.all_runs else "the latest run per param set")
        self.load()

    def action_next_metric(self) -> None:
        names = self.chart_metrics()
        if not names:
            return
        at = names.index(self.chart_metric) if self.chart_metric in names else -1
        self.chart_metric = names[(at + 1) % len(names)]
        self._chart()

    def _fill(self) -> None:
        assert self.table is not None
        grid = self.query_one(DataTable)
        at = grid.cursor_coordinate
        grid.clear(columns=True)
        for column in self.table.columns:
            label = column.label
            if column.key == self.sort_key:
                label += " ▼" if self.descending else " ▲"
            grid.add_column(literal(label), key=column.key)
        numbers = column_cells(self.table)
        for index, (row, info) in enumerate(zip(self.table.rows, self.table.runs, strict=True)):
            grid.add_row(*(cell(row.get(c.key), c.kind, numbers[c.key][index]
                                if c.key in numbers else None) for c in self.table.columns),
                         key=info.ref)
        if grid.row_count:
            grid.cursor_coordinate = grid.validate_cursor_coordinate(at)
        grid.focus()

    def _sort(self, key: str) -> None:
        if self.table is None:
            return
        self.descending = not self.descending if key == self.sort_key else False
        self.sort_key = key
        sort_rows(self.table, key, descending=self.descending)
        self._fill()

    def action_sort(self) -> None:
        """Sort by the next column (the header shows which, ▲ or ▼)."""
        if self.table is None:
            return
        keys = [c.key for c in self.table.columns]
        at = keys.index(self.sort_key) if self.sort_key in keys else -1
        self.descending = True  # the next _sort flips it: ascending first
        self.sort_key = None
        self._sort(keys[(at + 1) % len(keys)])

    def action_reverse(self) -> None:
        if self.table is not None and self.sort_key:
            self._sort(self.sort_key)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        if event.column_key.value:
            self._sort(event.column_key.value)

    def action_open(self) -> None:
        if self.table is None or not self.table.runs:
            return
        row = self.query_one(DataTable).cursor_coordinate.row
        if 0 <= row < len(self.table.runs):
            self.dash_app.open_run(self.table.runs[row])

    def on_data_table_cell_selected(self, _event: DataTable.CellSelected) -> None:
        self.action_open()

    def ask_folder(self, question: str, then: Callable[[Path], None]) -> None:
        """Ask where to write (under the runs directory unless the user says otherwise)."""
        base = self.dashboard.runs_dir
        self.app.push_screen(FolderDialog(question, self.dashboard.export_dir, base),
                             lambda folder: then(folder) if folder is not None else None)

    def action_export(self) -> None:
        if self.table is not None:
            self.ask_folder("Export Markdown, CSV and LaTeX to", self._export)

    def _export(self, folder: Path) -> None:
        assert self.table is not None
        table, stem = self.table, export_stem(self.heading)

        def export() -> str:
            paths = write_exports(table, folder, stem)
            return "wrote " + ", ".join(str(p) for p in paths)

        self.run_blocking(export)

    def action_write_report(self) -> None:
        """A written report of this comparison (`dltui.report.writer.write_report`):
        curves, tables and notes in a folder under the runs directory."""
        if self.table is not None:
            self.ask_folder("Write the report under", self._write_report)

    def _write_report(self, under: Path) -> None:
        if self.table is None:
            return
        try:
            from dltui.report.writer import write_report
        except ImportError:
            self.notify("writing a report is not available in this version",
                        severity="error", markup=False)
            return
        runs = [i for g in self.table.seed_groups for i in g] or list(self.table.runs)
        labels = self.dashboard.labels_for(runs)
        folder = under / export_stem(self.heading).replace("compare-", "report-", 1)
        title = f"Report: {self.heading}"

        def report() -> str:
            written = write_report(runs=runs, out_dir=folder, labels=labels, title=title,
                                   manifest=self.dashboard.manifest)
            return f"wrote the report {written}"

        self.notify("writing the report…")
        self.run_blocking(report)
