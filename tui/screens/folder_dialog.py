"""Where to write: a folder, proposed under the runs directory, that the user may change."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from dltui.tui.screens.confirm import dialog_title


class FolderDialog(ModalScreen[Path | None]):
    """Ask for a folder; enter accepts (a relative path is taken from `base`), escape
    cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, question: str, proposed: Path, base: Path) -> None:
        super().__init__()
        self.question, self.proposed, self.base = question, proposed, base

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield dialog_title(self.question)
            yield Input(str(self.proposed), id="folder")
            yield Label("enter: write there   escape: cancel", classes="dim")

    def on_mount(self) -> None:
        field = self.query_one("#folder", Input)
        field.cursor_blink = False
        field.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        folder = Path(text).expanduser()
        self.dismiss(folder if folder.is_absolute() else self.base / folder)

    def action_cancel(self) -> None:
        self.dismiss(None)
