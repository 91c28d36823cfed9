"""The dashboard app: screens, the catalog feed, and the ways between screens."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.worker import get_current_worker

from dltui.errors import UserError
from dltui.manifest import Manifest
from dltui.store.runs import RunInfo
from dltui.tui.catalog import RunCatalog
from dltui.tui.dashboard import Dashboard
from dltui.tui.feeds import FRAMES_CATALOG, follow_catalog
from dltui.tui.messages import ActionDone, CatalogUpdated
from dltui.tui.run_endings import RunEndings
from dltui.tui.screens.base import DashboardScreen
from dltui.tui.screens.experiments import ExperimentsScreen
from dltui.tui.tensorboards import Boards
from dltui.tui.views import CatalogSnapshot


def _runs_screen() -> Screen[Any]:
    from dltui.tui.screens.runs import RunsScreen

    return RunsScreen()


def _queue_screen() -> Screen[Any]:
    from dltui.tui.screens.queue import QueueScreen

    return QueueScreen()


def _params_screen() -> Screen[Any]:
    from dltui.tui.screens.params import ParamsScreen

    return ParamsScreen()


def _search_screen() -> Screen[Any]:
    from dltui.tui.screens.search import SearchScreen

    return SearchScreen()


class DltuiApp(App[None]):
    CSS_PATH = str(Path(__file__).with_name("app.tcss"))
    TITLE = "dltui"
    MODES = {
        "experiments": ExperimentsScreen,
        "runs": _runs_screen,
        "queue": _queue_screen,
        "params": _params_screen,
        "search": _search_screen,
    }
    DEFAULT_MODE = "experiments"
    BINDINGS = [
        Binding("1", "show_list('experiments')", "Experiments", id="experiments", show=False),
        Binding("2", "show_list('runs')", "Runs", id="runs", show=False),
        Binding("3", "show_list('queue')", "Queue", id="queue", show=False),
        Binding("4", "show_list('params')", "Params", id="params", show=False),
        Binding("5", "show_list('search')", "Search", id="search", show=False),
        Binding("ctrl+r", "rescan", "Rescan", show=False),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, dashboard: Dashboard) -> None:
        super().__init__()
        self.dashboard = dashboard
        self.snapshot = CatalogSnapshot(version=0, loaded=False)
        self.catalog_wake = threading.Event()
        self.run_endings = RunEndings()
        # Snapshots a second the catalog feed may post: set by the screen on top.
        self.catalog_frames = FRAMES_CATALOG
        self.boards = Boards(dashboard.tensorboard_argv, dashboard.runs_dir / ".tensorboard.log")

    def on_unmount(self) -> None:
        self.boards.close()

    def on_mount(self) -> None:
        # After the first frame: the first full read of a big runs folder must not delay it.
        self.call_after_refresh(self.follow_catalog)

    @work(thread=True, exclusive=True, group="catalog")
    def follow_catalog(self) -> None:
        worker = get_current_worker()
        catalog = RunCatalog(self.dashboard.store, self.dashboard.manifest,
                             clock=self.dashboard.clock)
        if not self.dashboard.live:  # one picture, frozen
            catalog.scan()
            catalog.poll()
            self.post_message(CatalogUpdated(catalog.snapshot()))
            return
        follow_catalog(catalog, lambda s: self.post_message(CatalogUpdated(s)),
                       lambda: worker.is_cancelled, self.catalog_wake,
                       frames=lambda: self.catalog_frames)

    def on_catalog_updated(self, message: CatalogUpdated) -> None:
        self.snapshot = message.snapshot
        for ended in self.run_endings.check(message.snapshot):  # a bell and a toast each
            self.bell()
            self.notify(ended.text, severity="error" if ended.failed else "information",
                        markup=False, timeout=8)
        if isinstance(self.screen, DashboardScreen):
            self.screen.catalog_changed(message.snapshot)

    def on_action_done(self, message: ActionDone) -> None:
        self.notify(message.text, severity="error" if message.error else "information",
                    markup=False, timeout=8 if message.error else 4)
        self.catalog_wake.set()

    def action_rescan(self) -> None:
        self.catalog_wake.set()

    async def action_show_list(self, mode: str) -> None:
        """Keys 1-4: that tab's list, whatever was opened over it there."""
        await self.switch_mode(mode)
        while len(self.screen_stack) > 1 and not isinstance(self.screen, ModalScreen):
            self.pop_screen()

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        """An SVG of the screen in `<runs>/screenshots/` (a folder that exists wherever
        the runs do, unlike ~/Downloads on a server); the notification says where."""
        folder = Path(path) if path else self.dashboard.runs_dir / "screenshots"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            saved = self.save_screenshot(filename, str(folder), time_format)
        except OSError as err:
            self.notify(f"screenshot not saved: {err}", severity="error", markup=False)
            return None
        self.notify(f"screenshot saved to {saved}", markup=False, timeout=6)
        return saved

    # -- ways between screens ----------------------------------------------------------------
    def open_run(self, info: RunInfo) -> None:
        from dltui.tui.screens.run import RunScreen

        self.push_screen(RunScreen(info.dir.path))

    def open_compare(self, title: str, selection: list[str] | None = None, *,
                     runs: list[RunInfo] | None = None) -> None:
        """Compare what `selection` names (experiments, groups, tag:NAME), or `runs`."""
        from dltui.tui.screens.compare import CompareScreen

        paths = [info.dir.path for info in runs] if runs is not None else None
        self.push_screen(CompareScreen(title, selection or [], paths))

    def open_tensorboard(self, runs: list[RunInfo]) -> str | None:
        """Start (or find) TensorBoard on `runs`; its URL, also shown as a notification."""
        try:
            board = self.boards.open(runs)
        except (OSError, UserError) as err:
            self.notify(f"TensorBoard did not start: {err}", severity="error", markup=False)
            return None
        self.notify(f"TensorBoard on {board.url} ({len(runs)} run{'s' if len(runs) != 1 else ''})",
                    markup=False, timeout=10)
        return board.url

    # -- the command palette finds every binding of the screen shown -----------------------
    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        seen = set()
        for key, active in screen.active_bindings.items():
            binding = active.binding
            if not binding.description or binding.action in seen or not active.enabled:
                continue
            seen.add(binding.action)
            yield SystemCommand(binding.description, f"{binding.description} ({key})",
                                _runner(self, active.node, binding.action))


def _runner(app: App[Any], node: Any, action: str) -> Any:
    async def run() -> None:
        await app.run_action(action, node)

    return run


def make_app(*, manifest: Manifest, runs_dir: Path | str | None = None, **options: Any
             ) -> DltuiApp:
    """The dashboard on `manifest` and its runs (default: the manifest's runs_dir).

    `options` are the Dashboard's: clock, query_gpus, tensorboard_argv, live, cursor_blink.
    """
    return DltuiApp(Dashboard(manifest, Path(runs_dir or manifest.runs_dir), **options))


def run_dashboard(*, manifest: Manifest, runs_dir: Path | str | None = None) -> None:
    make_app(manifest=manifest, runs_dir=runs_dir).run()
