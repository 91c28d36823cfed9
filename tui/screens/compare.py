"""Compare: the engine's comparison of a group, a sweep or marked runs: the params that
differ, last and best metrics, parameter counts; sorted by any column, exported to
Markdown, CSV and LaTeX next to the runs directory."""

from __future__ import annotations

import re
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, Static

from dltui.errors import UserError
from dltui.store.runs import load_run
from dltui.tui.screens.base import DashboardScreen
from dltui.tui.text import STATE_STYLES, literal
from dltui.views.compare import CompareTable, compare, sort_rows
from dltui.views.formats import render
from dltui.views.numbers import format_value
from dltui.views.selection import select_runs

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


def cell(value: object, kind: str) -> Text:
    shown = literal(format_value(value, kind))
    if kind == "status":
        shown.stylize(STATE_STYLES.get(str(value), ""))
    if kind in _RIGHT:
        shown.justify = "right"
    return shown


class CompareScreen(DashboardScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("enter", "open", "Open run", priority=True),
        Binding("s", "sort", "Sort by column"),
        Binding("e", "export", "Export md/csv/tex"),
        Binding("w", "write_report", "Write report"),
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

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(literal(f"comparing {self.heading}…"), id="compare-title")
        yield DataTable(id="compare", cursor_type="cell", zebra_stripes=True)
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
            else:
                runs = select_runs(dashboard.store, self.selection, manifest=dashboard.manifest)
            table = compare(runs, labels=dashboard.labels_for(runs),
                            manifest=dashboard.manifest)
        except UserError as err:
            self.app.call_from_thread(self._failed, err.message)
            return
        self.app.call_from_thread(self._show, table)

    def _failed(self, message: str) -> None:
        self.query_one("#compare-title", Static).update(literal(message, "red"))

    def _show(self, table: CompareTable) -> None:
        self.table = table
        if table.metric and self.sort_key is None:
            self.sort_key = f"best:{table.metric}" if any(
                c.key == f"best:{table.metric}" for c in table.columns) else None
            self.descending = table.mode == "max"
        word = f"{len(table.rows)} run{'s' if len(table.rows) != 1 else ''}"
        if table.seed_groups:  # rows are configurations: mean ± std over their seeds
            word = (f"{len(table.rows)} configurations over seeds "
                    f"({sum(len(g) for g in table.seed_groups)} runs), mean ± std")
        metric = f", best {table.metric} ({table.mode}) first" if table.metric else ""
        self.query_one("#compare-title", Static).update(
            literal(f"{self.heading}: {word}{metric}"))
        self._fill()

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
        for row, info in zip(self.table.rows, self.table.runs, strict=True):
            grid.add_row(*(cell(row.get(c.key), c.kind) for c in self.table.columns),
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
        if self.table is None:
            return
        column = self.query_one(DataTable).cursor_coordinate.column
        if 0 <= column < len(self.table.columns):
            self._sort(self.table.columns[column].key)

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

    def action_export(self) -> None:
        if self.table is None:
            return
        table, folder, stem = self.table, self.dashboard.export_dir, export_stem(self.heading)

        def export() -> str:
            paths = write_exports(table, folder, stem)
            return "wrote " + ", ".join(str(p) for p in paths)

        self.run_blocking(export)

    def action_write_report(self) -> None:
        """The hook for a written report of this comparison (`dltui.report.writer.write_report`):
        curves, tables and notes in a folder next to the runs directory."""
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
        folder = self.dashboard.export_dir / export_stem(self.heading).replace(
            "compare-", "report-", 1)
        title = f"Report: {self.heading}"

        def report() -> str:
            written = write_report(runs=runs, out_dir=folder, labels=labels, title=title,
                                   manifest=self.dashboard.manifest)
            return f"wrote the report {written}"

        self.notify("writing the report…")
        self.run_blocking(report)
