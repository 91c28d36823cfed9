"""Runs: every run ever made, newest first, filtered as one types; 10,000 rows scroll
as fast as ten because the table draws only what is on screen."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, Input

from dltui.tui import run_actions
from dltui.tui.catalog import MISSING as _MISSING
from dltui.tui.catalog import RUN_COLUMNS
from dltui.tui.screens.base import FilteredTableScreen
from dltui.tui.screens.experiments import latest_style
from dltui.tui.text import plural
from dltui.tui.views import CatalogSnapshot, RunRecord
from dltui.tui.widgets.virtual_table import Column, VirtualTable

_RIGHT = {"best", "last", "duration"}
_WIDTHS = {"run": 20, "experiment": 24, "state": 11, "params": 40, "metric": 12, "best": 10,
           "last": 10, "duration": 8, "notes": 30}
# At 80 columns: run, experiment, state and best; the others as the width allows.
_DROP = {"params": 1, "last": 2, "duration": 3, "metric": 4, "notes": 5}
COLUMNS = tuple(
    Column(key, label, width=_WIDTHS[key] if key in ("run", "state") else None,
           max_width=_WIDTHS[key], align="right" if key in _RIGHT else "left",
           style_of=latest_style if key == "state" else None, drop=_DROP.get(key, 0),
           min_width=12 if key == "experiment" else None)
    for key, label in RUN_COLUMNS)
_KEYS = [key for key, _ in RUN_COLUMNS]


def filter_records(records: list[RunRecord], text: str) -> list[RunRecord]:
    words = text.lower().split()
    if not words:
        return list(records)
    if len(words) == 1:
        word = words[0]
        return [r for r in records if word in r.search]
    return [r for r in records if all(w in r.search for w in words)]


def sort_records(records: list[RunRecord], column: str, descending: bool) -> list[RunRecord]:
    """Sorted by one column; runs without a value in it go last either way."""
    index = _KEYS.index(column)
    empty = [r for r in records if r.sort_keys[index] == _MISSING]
    valued = [r for r in records if r.sort_keys[index] != _MISSING] if empty else records
    return sorted(valued, key=lambda r: r.sort_keys[index], reverse=descending) + empty


class RunsScreen(FilteredTableScreen):
    TABLE_ID = "runs"
    BINDINGS = [
        Binding("space", "mark", "Mark"),
        Binding("c", "compare", "Compare"),
        Binding("s", "stop", "Stop"),
        Binding("t", "tensorboard", "TensorBoard"),
        Binding("o", "sort", "Sort by next column"),
        Binding("O", "reverse", "Reverse order"),
        *run_actions.RUN_ACTION_BINDINGS,
        Binding("u", "disk_use", "Disk use", show=False),
        Binding("d", "diff", "Diff two marked", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.records: tuple[RunRecord, ...] = ()
        self._records_version = -1
        self._sorted: tuple[object, list[RunRecord]] | None = None
        self._filtered: tuple[str, list[RunRecord], list[RunRecord]] = ("", [], [])

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="/ filter: experiment, run id, state, params", id="filter")
        yield VirtualTable(COLUMNS, id="runs", empty_text="no runs")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Runs"
        self.table.sort_column = "run"
        self.table.sort_descending = True
        self.table.focus()

    def show_catalog(self, snapshot: CatalogSnapshot) -> None:
        self.records = snapshot.records
        self._records_version = snapshot.version
        self.show_rows()

    def _ordered(self) -> list[RunRecord]:
        """The records in the table's order; sorted again only when they or it changed."""
        table = self.table
        key = (self._records_version, table.sort_column, table.sort_descending)
        if self._sorted is None or self._sorted[0] != key:
            ordered = (sort_records(list(self.records), table.sort_column,
                                    table.sort_descending) if table.sort_column
                       else list(self.records))
            self._sorted = (key, ordered)
        return self._sorted[1]

    def show_rows(self) -> None:
        table = self.table
        text = self.query_one("#filter", Input).value
        ordered = self._ordered()
        # Typing more only narrows: filter what the last, shorter text left.
        last_text, last_source, last_shown = self._filtered
        source = last_shown if (last_source is ordered and last_text and
                                text.startswith(last_text)) else ordered
        shown = filter_records(source, text)
        self._filtered = (text, ordered, shown)
        table.set_rows(shown)
        total = len(self.records)
        counted = (f"{len(shown):,} of {plural(total, 'run')}" if len(shown) != total
                   else plural(total, "run"))
        self.sub_title = counted + ("" if self.snapshot.loaded else " (reading…)")

    # -- filter and order -------------------------------------------------------------------
    def action_sort(self) -> None:
        current = self.table.sort_column or _KEYS[0]
        self._sort_by(_KEYS[(_KEYS.index(current) + 1) % len(_KEYS)], descending=False)

    def action_reverse(self) -> None:
        self._sort_by(self.table.sort_column or "run", not self.table.sort_descending)

    def on_virtual_table_header_clicked(self, event: VirtualTable.HeaderClicked) -> None:
        same = event.column == self.table.sort_column
        self._sort_by(event.column, not self.table.sort_descending if same else False)

    def _sort_by(self, column: str, descending: bool) -> None:
        self.table.sort_column = column
        self.table.sort_descending = descending
        self.show_rows()

    # -- actions -----------------------------------------------------------------------------
    def action_mark(self) -> None:
        key = self.table.current_key
        self.table.toggle_mark()
        if key is not None:
            said = "marked" if key in self.table.marked else "unmarked"
            self.notify(f"{said} {key} ({len(self.table.marked)} marked: c compares, "
                        "esc clears)", markup=False, timeout=2)
        self.table.action_cursor(1)

    def chosen(self) -> list[RunRecord]:
        """The marked runs (shown or filtered out), in the table's order; else the cursor's."""
        marked = self.table.marked
        if marked:
            return [r for r in self._ordered() if r.ref in marked]
        record = self.snapshot.by_ref.get(self.table.current_key or "")
        return [record] if record else []

    def action_open(self) -> None:
        chosen = self.table.current_key
        record = self.snapshot.by_ref.get(chosen) if chosen else None
        if record is not None:
            self.dash_app.open_run(record.info)

    def on_virtual_table_selected(self, _event: VirtualTable.Selected) -> None:
        self.action_open()

    def action_compare(self) -> None:
        chosen = self.chosen()
        if chosen:
            title = chosen[0].ref if len(chosen) == 1 else f"{len(chosen)} marked runs"
            self.dash_app.open_compare(title, runs=[r.info for r in chosen])

    def action_stop(self) -> None:
        runs = [r.info for r in self.chosen() if not r.info.is_final]
        if not runs:
            self.notify("nothing to stop: the chosen runs have ended")
            return
        self.confirm_stop(runs)

    def action_tensorboard(self) -> None:
        chosen = [r.info for r in self.chosen()]
        if chosen:
            self.dash_app.open_tensorboard(chosen)

    def action_tag(self) -> None:
        run_actions.tag_runs(self, [r.info for r in self.chosen()])

    def action_note(self) -> None:
        chosen = self.chosen()
        if chosen:
            run_actions.note_run(self, chosen[0].info)

    def action_remove(self) -> None:
        run_actions.remove_runs(self, [r.info for r in self.chosen()])

    def action_disk_use(self) -> None:
        run_actions.show_disk_use(self, [r.info for r in self.chosen()])

    def action_diff(self) -> None:
        run_actions.show_diff(self, [r.info for r in self.chosen()])

    def action_reproduce(self) -> None:
        for record in self.chosen():
            run_actions.reproduce_run(self, record.info)
