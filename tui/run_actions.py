"""The dashboard's run-management actions (tag, note, remove, disk use, reproduce,
diff), shared by the Runs and Run screens: each asks what it needs in a small dialog
and does the work through `run_blocking`, off the app's thread."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from dltui.tui.screens.confirm import ConfirmDialog, dialog_title
from dltui.tui.text import literal, plural

if TYPE_CHECKING:
    from dltui.store.runs import RunInfo
    from dltui.tui.screens.base import DashboardScreen

# The same keys on the Runs and Run screens, each screen's action calling the function
# of that name below.
RUN_ACTION_BINDINGS = [
    Binding("T", "tag", "Tag", show=False),
    Binding("n", "note", "Note", show=False),
    Binding("delete,D", "remove", "Remove", show=False),
    Binding("p", "reproduce", "Reproduce", show=False),
]


class TextDialog(ModalScreen[str | None]):
    """One line of text: enter gives it, escape gives None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"),
                Binding("enter", "accept", "OK", priority=True)]

    def __init__(self, title: str, prompt: str, initial: str = "") -> None:
        super().__init__()
        self.heading, self.prompt, self.initial = title, prompt, initial

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield dialog_title(self.heading)
            yield Label(literal(self.prompt, "dim"))
            yield Input(self.initial, id="text")
            yield Label("enter: ok   escape: cancel", classes="dim")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def action_accept(self) -> None:
        self.dismiss(self.query_one(Input).value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class TextView(ModalScreen[None]):
    """A long text (a diff) to scroll through; escape or q closes it."""

    BINDINGS = [Binding("escape,q", "close", "Close")]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.heading, self.text = title, text

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield dialog_title(self.heading)
            with VerticalScroll(id="text-view"):
                yield Static(literal(self.text), id="text-body")

    def action_close(self) -> None:
        self.dismiss(None)


def _word(runs: list[RunInfo]) -> str:
    return runs[0].ref if len(runs) == 1 else f"{len(runs)} runs"


def tag_runs(screen: DashboardScreen, runs: list[RunInfo]) -> None:
    """Ask for `+tag -tag` words, then change the tags of `runs`."""
    if not runs:
        return

    def answered(text: str | None) -> None:
        if not text or not text.split():
            return
        words = text.split()

        def change() -> str:
            from dltui.store.annotations import change_tags

            add = [w.lstrip("+") for w in words if not w.startswith("-")]
            remove = [w[1:] for w in words if w.startswith("-")]
            tags = [change_tags(info, add=add, remove=remove) for info in runs]
            return f"{_word(runs)}: " + (" ".join(f"#{t}" for t in tags[0]) or "(no tags)")

        screen.run_blocking(change)

    screen.app.push_screen(TextDialog(f"Tag {_word(runs)}", "+tag adds, -tag removes "
                                      "(words without a sign add)"), answered)


def note_run(screen: DashboardScreen, info: RunInfo) -> None:
    """Ask for the run's note (blank removes it), then write it."""
    from dltui.store.annotations import read_annotations

    def answered(text: str | None) -> None:
        if text is None:
            return

        def write() -> str:
            from dltui.store.annotations import set_note

            set_note(info, text)
            return f"{info.ref}: " + ("noted" if text.strip() else "note removed")

        screen.run_blocking(write)

    screen.app.push_screen(TextDialog(f"Note on {info.ref}", "a line of text (blank: none)",
                                      read_annotations(info).note), answered)


def remove_runs(screen: DashboardScreen, runs: list[RunInfo]) -> None:
    """Ask, then move `runs` to the trash (refusals are shown as errors)."""
    if not runs:
        return
    store = screen.dashboard.store

    def answered(yes: bool | None) -> None:
        if not yes:
            return

        def remove() -> str:
            from dltui.store.disk import human_bytes
            from dltui.store.trash import remove_runs as move_to_trash

            removed = move_to_trash(store, runs)
            size = human_bytes(sum(item.bytes for item in removed))
            return f"removed {_word(runs)} ({size}) to the trash; `dltui gc` deletes it"

        screen.run_blocking(remove)

    screen.app.push_screen(ConfirmDialog(f"Remove {_word(runs)} to the trash?",
                                         [f"{i.ref} ({i.state})" for i in runs]), answered)


def show_disk_use(screen: DashboardScreen, runs: list[RunInfo]) -> None:
    """Notify the size of `runs` and of their experiments."""
    if not runs:
        return
    store = screen.dashboard.store

    def measure() -> str:
        from dltui.store.disk import human_bytes, run_sizes

        chosen = run_sizes(runs)
        lines = [f"{ref}: {human_bytes(size)}" for ref, size in list(chosen.items())[:5]]
        for name in sorted({info.experiment for info in runs}):
            sizes = run_sizes(store.runs(name))
            lines.append(f"{name}: {human_bytes(sum(sizes.values()))} in "
                             f"{plural(len(sizes), 'run')}")
        return "\n".join(lines)

    screen.run_blocking(measure)


def reproduce_run(screen: DashboardScreen, info: RunInfo) -> None:
    """Queue a run of the same snapshot, params and needed runs."""
    runs_dir = screen.dashboard.runs_dir

    def queue() -> str:
        from dltui.queue.reproduce import reproduce
        from dltui.queue.scheduler import ensure_supervisor

        made = reproduce(info=info)
        ensure_supervisor(runs_dir)
        return "\n".join([f"queued {made.run.experiment}/{made.run.run_id} (reproduces "
                          f"{info.ref})", *made.notes])

    screen.run_blocking(queue)


def show_diff(screen: DashboardScreen, runs: list[RunInfo]) -> None:
    """The diff of two runs in a scrolling view."""
    if len(runs) != 2:
        screen.notify("mark two runs to diff them", severity="warning")
        return
    from dltui.snapshots.rundiff import diff_text, run_diff

    text = diff_text(run_diff(runs[0], runs[1]))
    screen.app.push_screen(TextView(f"{runs[0].ref} vs {runs[1].ref}", text))

