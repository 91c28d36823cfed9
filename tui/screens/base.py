"""What the dashboard's screens share: the dashboard, the latest catalog, and a
worker for blocking actions (launch, stop, export) that reports back as a message."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from textual import work
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input

from dltui.errors import UserError
from dltui.store.runs import RunInfo
from dltui.tui.messages import ActionDone
from dltui.tui.screens.confirm import ConfirmDialog
from dltui.tui.views import CatalogSnapshot

if TYPE_CHECKING:
    from dltui.tui.app import DltuiApp
    from dltui.tui.dashboard import Dashboard
    from dltui.tui.widgets.virtual_table import VirtualTable


class DashboardScreen(Screen[Any]):
    """A screen of the dashboard; `show_catalog` is called with every new snapshot
    while it is on top, and once when it comes back on top."""

    _shown_version = -1
    # False for screens that draw no list of runs: the catalog then refreshes slowly.
    shows_catalog = True

    @property
    def dash_app(self) -> DltuiApp:
        return cast("DltuiApp", self.app)

    @property
    def dashboard(self) -> Dashboard:
        """What the app shows: its manifest, runs directory and clock."""
        return self.dash_app.dashboard

    @property
    def snapshot(self) -> CatalogSnapshot:
        """The latest catalog of every run (the feed replaces it as runs change)."""
        return self.dash_app.snapshot

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = self.dashboard.cursor_blink

    def on_screen_resume(self) -> None:
        from dltui.tui.feeds import FRAMES_CATALOG, FRAMES_CATALOG_HIDDEN

        app = self.dash_app
        app.catalog_frames = FRAMES_CATALOG if self.shows_catalog else FRAMES_CATALOG_HIDDEN
        if self.shows_catalog:
            app.catalog_wake.set()  # back on a list: what changed meanwhile, now
        self.catalog_changed(self.snapshot)

    def catalog_changed(self, snapshot: CatalogSnapshot) -> None:
        if snapshot.version != self._shown_version:
            self._shown_version = snapshot.version
            self.show_catalog(snapshot)

    def show_catalog(self, snapshot: CatalogSnapshot) -> None:
        """Render what changed; the default screen needs no runs."""

    def confirm_stop(self, runs: list[RunInfo]) -> None:
        """Ask, then stop `runs` (queued ones are cancelled) in a worker."""
        grace = self.dashboard.stop_grace
        word = f"{len(runs)} run{'s' if len(runs) != 1 else ''}"

        def stop() -> str:
            from dltui.queue.control import stop_runs

            ended = stop_runs(runs, grace=grace)
            states = ", ".join(sorted({info.state for info in ended}))
            return f"stopped {word}: {states}"

        def answered(yes: bool | None) -> None:
            if yes:
                self.notify(f"stopping {word}…")
                self.run_blocking(stop)

        self.app.push_screen(ConfirmDialog(f"Stop {word}?",
                                           [f"{i.ref} ({i.state})" for i in runs]), answered)

    @work(thread=True, group="actions", exit_on_error=False)
    def run_blocking(self, action: Callable[[], str]) -> None:
        """Run a blocking action off the app's thread; its text (or error) is shown after."""
        app = self.dash_app
        try:
            text = action()
        except UserError as err:
            app.post_message(ActionDone(err.message, error=True))
        except Exception as err:  # shown, not raised: live runs outlive a failed action
            app.post_message(ActionDone(f"{type(err).__name__}: {err}", error=True))
        else:
            app.post_message(ActionDone(text))


class FilteredTableScreen(DashboardScreen):
    """A screen of one table and a `#filter` field: `/` to type, `esc` to clear (the
    filter, else the marks), enter back to the table."""

    BINDINGS = [
        # A priority binding acts before the next key is routed: "/lr" types "lr" there.
        Binding("slash", "filter", "Filter", priority=True),
        Binding("escape", "clear", "Clear", show=False),
    ]

    TABLE_ID = ""  # the id of its VirtualTable

    @property
    def table(self) -> VirtualTable:
        return cast("VirtualTable", self.query_one(f"#{self.TABLE_ID}"))

    def show_rows(self) -> None:
        """Show the rows that pass the filter."""
        raise NotImplementedError

    def action_filter(self) -> None:
        field = self.query_one("#filter", Input)
        if field.has_focus:
            field.insert_text_at_cursor("/")
        else:
            self.set_focus(field)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.show_rows()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            self.set_focus(self.table)

    def action_clear(self) -> None:
        field = self.query_one("#filter", Input)
        if field.value:
            field.value = ""
            self.show_rows()  # now, not on Input.Changed: the next key sees every row
        elif self.table.marked:
            self.table.marked.clear()
            self.table.refresh()
        self.table.focus()
