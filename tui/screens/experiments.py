"""Experiments: every experiment of the manifest and each sweep's param sets, with the
state of their latest runs, the best value of their metric and its curve."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, Input, Static

from dltui.store import rundir as rd
from dltui.tui.screens.base import FilteredTableScreen
from dltui.tui.screens.launch_dialog import LaunchDialog
from dltui.tui.text import (
    STATE_STYLES,
    STATE_SYMBOLS,
    column_numbers,
    literal,
    number,
    params_label,
    plural,
    state_counts_label,
)
from dltui.tui.views import CatalogSnapshot, ExperimentEntry
from dltui.tui.widgets.line_chart import ChartKeys, LineChart
from dltui.tui.widgets.sparkline import sparkline
from dltui.tui.widgets.virtual_table import Column, Row, VirtualTable

CURVE_WIDTH = 16
_SYMBOL_STYLE = {symbol: STATE_STYLES[state] for state, symbol in STATE_SYMBOLS.items()}


def latest_style(cell: str) -> str:
    return _SYMBOL_STYLE.get(cell[:1], "")


# At 80 columns: name, runs, latest, best and the curve; group, tags and metric when wider.
COLUMNS = (
    Column("name", "Experiment", max_width=72, min_width=22),
    Column("group", "Group", max_width=16, drop=3),
    Column("tags", "Tags", max_width=20, drop=4),
    Column("runs", "Runs", align="right", max_width=6),
    Column("latest", "Latest", max_width=22, style_of=latest_style),
    Column("metric", "Metric", max_width=16, drop=2),
    Column("best", "Best", align="right", max_width=10),
    Column("curve", "Curve", width=CURVE_WIDTH, drop=1),
)


def entry_row(entry: ExperimentEntry, best: str | None = None) -> Row:
    """The entry's row; `best` as its column shows it (`column_numbers`), else alone."""
    label = ("└ " + entry.label) if entry.depth else entry.label
    return Row(entry.key, (
        label, entry.group if not entry.depth else "", ",".join(entry.tags) if not entry.depth
        else "", str(entry.runs), state_counts_label(entry.states), entry.metric,
        number(entry.best) if best is None else best, sparkline(entry.curve, CURVE_WIDTH)),
        style="" if entry.depth else "bold")


def filter_entries(entries: tuple[ExperimentEntry, ...], text: str) -> list[ExperimentEntry]:
    """Entries matching every word of `text`; an experiment keeps its sweep rows and a
    matching sweep row brings its experiment."""
    words = text.lower().split()
    if not words:
        return list(entries)
    hits = {e.key for e in entries if all(w in e.search for w in words)}
    experiments = {e.experiment for e in entries if e.key in hits}
    whole = {e.experiment for e in entries if e.key in hits and not e.depth}
    return [e for e in entries
            if e.key in hits or e.experiment in whole or (not e.depth and e.experiment in
                                                          experiments)]


class ExperimentsScreen(ChartKeys, FilteredTableScreen):
    TABLE_ID = "experiments"
    BINDINGS = [
        Binding("space", "mark", "Mark"),
        Binding("l", "launch", "Launch…"),
        Binding("L", "launch_now", "Launch as is", show=False),
        Binding("s", "stop", "Stop", show=False),
        Binding("c", "compare", "Compare"),
        Binding("g", "compare_group", "Compare group", show=False),
        *ChartKeys.CHART_BINDINGS,
    ]

    def __init__(self) -> None:
        super().__init__()
        self.entries: tuple[ExperimentEntry, ...] = ()

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="/ filter: name, group, tag, params", id="filter")
        yield VirtualTable(COLUMNS, id="experiments", empty_text="no experiment matches")
        yield LineChart(id="experiment-chart")
        yield Static(id="detail")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Experiments"
        self.table.focus()

    def show_catalog(self, snapshot: CatalogSnapshot) -> None:
        self.entries = snapshot.entries
        self.sub_title = _catalog_line(snapshot, self.dashboard.manifest.path.name)
        self.show_rows()

    def show_rows(self) -> None:
        shown = filter_entries(self.entries, self.query_one("#filter", Input).value)
        bests = column_numbers([e.best for e in shown])
        self.table.set_rows([entry_row(e, best) for e, best in zip(shown, bests, strict=True)])
        self._show_detail()

    def _entry(self, key: str | None) -> ExperimentEntry | None:
        return next((e for e in self.entries if e.key == key), None)

    def _show_detail(self) -> None:
        entry = self._entry(self.table.current_key)
        detail = self.query_one("#detail", Static)
        chart = self.query_one("#experiment-chart", LineChart)
        if entry is None:
            detail.update("")
            chart.curves = ()
            return
        chart.curves = entry.curves
        chart.options = replace(chart.options, title=entry.metric or "")
        exp = self.dashboard.manifest.experiments[entry.experiment]
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append_text(literal(exp.description or exp.name, "bold"))
        what = f"task {exp.task}" if exp.task else " ".join(exp.command)
        text.append("\n")
        if entry.depth:  # a sweep row: its own values, in full
            text.append_text(literal(f"{plural(entry.runs, 'run')} with "
                                     + params_label(entry.params)))
        else:
            text.append_text(literal(
                f"{what}   params {params_label(exp.params) or '-'}"
                + (f"   sweep {params_label(exp.sweep)}" if exp.sweep else "")))
        if entry.latest is not None:
            text.append("\nlatest ")
            text.append_text(literal(entry.latest.ref))
            text.append(f"  {STATE_SYMBOLS.get(entry.latest.state, '')} {entry.latest.state}",
                        style=STATE_STYLES.get(entry.latest.state, ""))
        detail.update(text)

    def on_virtual_table_highlighted(self, _event: VirtualTable.Highlighted) -> None:
        self._show_detail()

    def on_virtual_table_selected(self, event: VirtualTable.Selected) -> None:
        self._open(event.key)

    # -- filter ----------------------------------------------------------------------------
    # -- selection -------------------------------------------------------------------------
    def action_mark(self) -> None:
        key = self.table.current_key
        self.table.toggle_mark()
        marked = len(self.table.marked)
        entry = self._entry(key)
        if entry is not None:
            said = "marked" if key in self.table.marked else "unmarked"
            self.notify(f"{said} {entry.label} ({marked} marked: c compares, esc clears)",
                        markup=False, timeout=2)
        self.table.action_cursor(1)

    def selected(self) -> list[ExperimentEntry]:
        """The marked rows, else the highlighted one."""
        keys = [e.key for e in self.entries if e.key in self.table.marked]
        if not keys and self.table.current_key:
            keys = [self.table.current_key]
        return [e for e in (self._entry(k) for k in keys) if e is not None]

    def targets(self) -> list[tuple[str, dict[str, list[Any]]]]:
        """(experiment, fixed overrides) per selected row: a sweep row fixes its params."""
        return [(e.experiment, {k: [v] for k, v in e.params.items()}) for e in self.selected()]

    def action_open(self) -> None:
        self._open(self.table.current_key)

    def _open(self, key: str | None) -> None:
        entry = self._entry(key)
        if entry is None:
            return
        if entry.latest is None:
            self.notify(f"{entry.experiment} has no run yet: press l to launch it",
                        markup=False)
            return
        self.dash_app.open_run(entry.latest)

    # -- actions ---------------------------------------------------------------------------
    def action_launch(self) -> None:
        targets = self.targets()
        if not targets:
            return
        manifest = self.dashboard.manifest

        def count(overrides: dict[str, list[Any]]) -> int:
            return sum(len(manifest.experiments[name].param_sets({**fixed, **overrides}))
                       for name, fixed in targets)

        names = ", ".join(dict.fromkeys(name for name, _ in targets))
        details = []
        for name, fixed in targets:
            exp = manifest.experiments[name]
            shown = {**exp.params, **exp.sweep, **{k: v[0] for k, v in fixed.items()}}
            details.append(f"{name}: {params_label(shown) or 'no params'}")
        self.app.push_screen(
            LaunchDialog(f"Launch {names}", details, count),
            lambda pairs: self._launch(targets, pairs) if pairs is not None else None)

    def action_launch_now(self) -> None:
        targets = self.targets()
        if targets:
            self._launch(targets, [])

    def _launch(self, targets: list[tuple[str, dict[str, list[Any]]]], pairs: list[str]) -> None:
        dashboard = self.dashboard

        def launch_them() -> str:
            from dltui.manifest import parse_overrides
            from dltui.queue.launch import launch

            user = parse_overrides(pairs)
            queued = []
            for name, fixed in targets:
                queued += launch(manifest=dashboard.manifest, names=[name],
                                 overrides={**fixed, **user} or None,
                                 runs_dir=dashboard.runs_dir)
            return f"queued {plural(len(queued), 'run')}"

        self.run_blocking(launch_them)

    def action_stop(self) -> None:
        runs = []
        for entry in self.selected():
            for info in self.snapshot.active:
                if info.experiment == entry.experiment and info not in runs and all(
                        info.spec.params.get(k) == v for k, v in entry.params.items()):
                    runs.append(info)
        if not runs:
            self.notify("nothing to stop: no queued or running run in the selection")
            return
        self.confirm_stop(runs)

    def action_compare(self) -> None:
        names = list(dict.fromkeys(e.experiment for e in self.selected()))
        if names:
            self.dash_app.open_compare(", ".join(names), names)

    def action_compare_group(self) -> None:
        entry = self._entry(self.table.current_key)
        if entry is None:
            return
        if not entry.group:
            self.notify(f"{entry.experiment} is in no group", markup=False)
            return
        self.dash_app.open_compare(f"group {entry.group}", [entry.group])


def _catalog_line(snapshot: CatalogSnapshot, manifest_name: str) -> str:
    running = sum(i.state in (rd.RUNNING, rd.STARTING) for i in snapshot.active)
    queued = sum(i.state == rd.QUEUED for i in snapshot.active)
    runs = plural(len(snapshot.records), "run") if snapshot.loaded else "reading runs…"
    return f"{manifest_name} · {runs} · {running} running · {queued} queued"

