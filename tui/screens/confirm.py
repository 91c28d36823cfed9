"""A yes/no question before something that cannot be undone (stopping a run)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label

from dltui.tui.text import literal


def dialog_title(text: str) -> Label:
    """The first line of every dialog: what it asks, in bold, as written."""
    return Label(literal(text, "bold"), id="dialog-title")


class ConfirmDialog(ModalScreen[bool]):
    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str, details: list[str] | None = None) -> None:
        super().__init__()
        self.question = question
        self.details = details or []

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield dialog_title(self.question)
            for line in self.details[:8]:
                yield Label(literal(line, "dim"))
            if len(self.details) > 8:
                yield Label(f"… and {len(self.details) - 8} more", classes="dim")
            yield Label("y: yes   n / escape: no")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
