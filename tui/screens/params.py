"""Parameters: the calculator. Type an architecture spec; every layer's output shape,
parameter count and formula update as one types, with the totals; a mistake is shown
under the spec, naming the layer."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, Input, Static

from dltui.errors import UserError
from dltui.tui.screens.base import DashboardScreen
from dltui.tui.text import literal

EXAMPLES = (
    ("report CNN (10,298)", "28x28x3 | conv 8 5x5 | maxpool 4 stride 2 | flatten | linear 10"),
    ("report MLP (236,310)", "28x28x3 | flatten | linear 100 | linear 10"),
    ("self-attention", "196x384 | attention 6"),
)
COLUMNS = (("#", "right"), ("layer", "left"), ("output", "left"), ("params", "right"),
           ("formula", "left"), ("output size", "left"))


def report_rows(report: Any) -> list[tuple[Text, ...]]:
    """The table rows of a ParamReport, every cell literal text."""
    rows: list[tuple[Text, ...]] = []
    for row in report.rows:
        text = row.text if row.name != "input" else f"input {row.text}"
        if row.part:
            text = f"{row.part}: {text}"
        if not row.trainable:
            text += " (frozen)"
        params = literal(f"{row.params:,}")
        params.justify = "right"
        index = literal(row.index)
        index.justify = "right"
        formula = row.formula + ("  · " + "; ".join(row.notes) if row.notes else "")
        rows.append((index, literal(text), literal(row.output_shape), params, literal(formula),
                     literal(row.shape_formula)))
    return rows


def column_widths(rows: list[tuple[Text, ...]]) -> list[int]:
    """Each column's width: its widest cell or its label."""
    return [max([len(label)] + [row[i].cell_len for row in rows])
            for i, (label, _) in enumerate(COLUMNS)]


def totals_text(report: Any) -> Text:
    out = Text()
    out.append(f"total {report.total:,}", style="bold")
    out.append(f"   trainable {report.trainable:,}   frozen {report.frozen:,}")
    if report.buffers:
        out.append(f"   buffers {report.buffers:,}")
    memory = "   ".join(f"{m.dtype} {m.parameters_bytes / 2**20:,.2f} MiB"
                       for m in report.memory)
    out.append(f"\nweights: {memory}", style="dim")
    return out


class ParamsScreen(DashboardScreen):
    BINDINGS = [
        Binding("ctrl+n", "example(1)", "Next example", priority=True),
        Binding("ctrl+b", "example(-1)", "Previous example", priority=True),
        Binding("escape", "toggle_focus", "Spec/table"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.examples = list(EXAMPLES)
        self.example = 0
        self.report: Any = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(self.examples[0][1], placeholder="28x28x3 | conv 8 5x5 | maxpool 2 | "
                    "flatten | linear 10", id="spec", select_on_focus=False)
        yield Static("", id="params-error")
        yield DataTable(id="layers", cursor_type="row", zebra_stripes=True)
        yield Static("", id="params-totals")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Parameters"
        self.examples += self._manifest_models()
        self.query_one("#spec", Input).focus()
        self.count(self.query_one("#spec", Input).value)

    def _manifest_models(self) -> list[tuple[str, str]]:
        if not self.dashboard.manifest.models:
            return []
        try:
            from dltui.params import load_models_toml

            models = load_models_toml(self.dashboard.manifest.path)
        except UserError:
            return []
        return [(f"models.{name}", arch.text) for name, arch in models.items()]

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "spec":
            self.count(event.value)

    def count(self, spec: str) -> None:
        """Count `spec` now (it is arithmetic, no I/O) and show it, or show what is wrong."""
        from dltui.params import count_parameters, parse_spec

        error = self.query_one("#params-error", Static)
        if not spec.strip():
            error.update("")
            return
        try:
            report = count_parameters(parse_spec(spec))
        except UserError as err:
            error.update(literal(err.message.replace("\n", "  "), "red"))
            return  # the last good table stays, so the numbers don't flicker while typing
        error.update("")
        self.report = report
        grid = self.query_one(DataTable)
        rows = report_rows(report)
        # Columns sized for this spec: a long formula of the last one neither stays nor cuts.
        grid.clear(columns=True)
        for index, width in enumerate(column_widths(rows)):
            label, align = COLUMNS[index]
            grid.add_column(Text(label, justify=align),  # type: ignore[arg-type]
                            key=label, width=width)
        grid.add_rows(rows)
        self.query_one("#params-totals", Static).update(totals_text(report))

    def action_example(self, step: int) -> None:
        self.example = (self.example + step) % len(self.examples)
        name, spec = self.examples[self.example]
        field = self.query_one("#spec", Input)
        field.value = spec
        field.cursor_position = len(spec)
        self.notify(name, markup=False, timeout=2)

    def action_toggle_focus(self) -> None:
        """Leave the spec (so the app's keys work) or go back to it."""
        field = self.query_one("#spec", Input)
        if field.has_focus:
            self.query_one(DataTable).focus()
        else:
            field.focus()
