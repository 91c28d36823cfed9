"""Search: each study of the manifest as `dltui search` prints it: its trials with
state, params and value, the best so far, a best-so-far curve and a scatter of each
param against the metric. `[` and `]` step between studies."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Static

from dltui.manifest import Experiment
from dltui.tui.screens.base import DashboardScreen
from dltui.tui.text import literal
from dltui.tui.views import CatalogSnapshot


class SearchScreen(DashboardScreen):
    BINDINGS = [
        Binding("]", "step(1)", "Next study"),
        Binding("[", "step(-1)", "Previous study"),
    ]

    DEFAULT_CSS = """
    SearchScreen #study { padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.index = 0

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll():
            yield Static(id="study")
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        self.title = "Search"

    @property
    def studies(self) -> list[Experiment]:
        return [e for e in self.dashboard.manifest.experiments.values() if e.search]

    def show_catalog(self, snapshot: CatalogSnapshot) -> None:
        self.load()

    def action_step(self, offset: int) -> None:
        if self.studies:
            self.index = (self.index + offset) % len(self.studies)
            self.load()

    @work(thread=True, exclusive=True, group="search", exit_on_error=False)
    def load(self) -> None:
        from dltui.search.view import study_text, study_view

        studies = self.studies
        if not studies:
            text = ("no search in this manifest: give an experiment search and space, "
                    'e.g. search = { method = "tpe", trials = 12 }')
        else:
            exp = studies[self.index % len(studies)]
            view = study_view(store=self.dashboard.store, experiment=exp)
            width = max(30, min(100, self.size.width - 20))
            head = f"study {self.index % len(studies) + 1} of {len(studies)}\n\n"
            text = head + study_text(view, exp, width=width)
        self.app.call_from_thread(self._show, text)

    def _show(self, text: str) -> None:
        self.sub_title = f"{len(self.studies)} studies"
        self.query_one("#study", Static).update(literal(text))
