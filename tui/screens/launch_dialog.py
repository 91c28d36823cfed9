"""The launch dialog: params to override, as `--set` takes them, with the run count
previewed as one types. Returns the `key=value` pairs, or None when cancelled."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from dltui.errors import UserError
from dltui.manifest import parse_overrides
from dltui.tui.screens.confirm import dialog_title
from dltui.tui.text import literal


def parse_pairs(text: str) -> tuple[list[str], dict[str, list[Any]]]:
    """`lr=0.1,0.01 epochs=3` as the pairs and the overrides `--set` would give.

    Raises UserError with a message fit to show under the input.
    """
    try:
        pairs = shlex.split(text)
    except ValueError as err:
        raise UserError(f"cannot split the text: {err}", fix="close the quotes") from None
    return pairs, parse_overrides(pairs)


class LaunchDialog(ModalScreen[list[str] | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("enter", "launch", "Launch", priority=True),
    ]

    def __init__(self, title: str, details: list[str], count: Callable[[dict[str, list[Any]]],
                                                                     int],
                 *, initial: str = "", verb: str = "Launch") -> None:
        super().__init__()
        self.heading = title
        self.details = details
        self.count = count
        self.initial = initial
        self.verb = verb

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield dialog_title(self.heading)
            for line in self.details:
                yield Label(literal(line, "dim"))
            yield Label("Override params (key=value, key=v1,v2 sweeps; blank: as declared):")
            yield Input(self.initial, placeholder="lr=0.01 epochs=3", id="overrides")
            yield Static("", id="preview")
            yield Label(f"enter: {self.verb.lower()}   escape: cancel", classes="dim")

    def on_mount(self) -> None:
        field = self.query_one(Input)
        field.cursor_blink = getattr(getattr(self.app, "dashboard", None), "cursor_blink", True)
        field.focus()
        self._preview(self.initial)

    def on_input_changed(self, event: Input.Changed) -> None:
        self._preview(event.value)

    def _preview(self, text: str) -> bool:
        preview = self.query_one("#preview", Static)
        try:
            _, overrides = parse_pairs(text)
            runs = self.count(overrides)
        except UserError as err:
            preview.update(literal(err.message.replace("\n", " "), "red"))
            return False
        preview.update(literal(f"→ {runs} run{'s' if runs != 1 else ''} will be queued",
                               "green"))
        return True

    def action_launch(self) -> None:
        text = self.query_one(Input).value
        if self._preview(text):
            self.dismiss(parse_pairs(text)[0])

    def action_cancel(self) -> None:
        self.dismiss(None)
