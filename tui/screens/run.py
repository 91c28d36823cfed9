"""Run: one run live: curves of every metric, progress and ETA, params, status and exit
code, and the log following the file. Stop it, restart it, open it in TensorBoard."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.timer import Timer
from textual.widgets import Footer, Header, Log
from textual.worker import get_current_worker

from dltui.tui import run_actions
from dltui.tui.feeds import RunFollower, follow_run
from dltui.tui.messages import RunUpdated
from dltui.tui.screens.base import DashboardScreen
from dltui.tui.screens.launch_dialog import LaunchDialog
from dltui.tui.text import overrides_text, params_label
from dltui.tui.views import MetricDigest, RunView
from dltui.tui.widgets.line_chart import ChartKeys
from dltui.tui.widgets.log_tail import LogTail
from dltui.tui.widgets.metric_panel import MetricPanel
from dltui.tui.widgets.run_status import RunStatus

LOG_LINES = 2000


def ordered_metrics(view: RunView) -> tuple[MetricDigest, ...]:
    """The run's declared metric first, then the others as they were first logged."""
    metrics = dict(view.digest.metrics)
    main = view.info.spec.metric
    first = [metrics.pop(main)] if main in metrics else []
    return tuple(first + list(metrics.values()))


def _lasts(view: RunView) -> dict[str, float | None]:
    return {name: digest.last for name, digest in view.digest.metrics.items()}


# Seconds between two redraws of the charts and the log while a run is followed. They
# are redrawn with the next new values after that (one frame for both), or after
# HEAVY_LATE more seconds when no value comes.
HEAVY_EVERY = 1.0
HEAVY_LATE = 0.3
# Below this width the log goes under the charts instead of beside them.
WIDE = 120


class RunScreen(ChartKeys, DashboardScreen):
    shows_catalog = False  # its own feed (or none): the lists behind it refresh slowly
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("s", "stop", "Stop"),
        Binding("r", "restart", "Restart", show=False),
        Binding("R", "restart_changed", "Restart with…", show=False),
        Binding("c", "resume", "Continue", show=False),
        Binding("t", "tensorboard", "TensorBoard", show=False),
        Binding("f", "follow", "Follow log", show=False),
        Binding("a", "overlay", "All on one chart", show=False),
        *ChartKeys.CHART_BINDINGS,
        *run_actions.RUN_ACTION_BINDINGS,
    ]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = Path(path)
        self.view: RunView | None = None
        self._log_seq = 0
        self._pending: RunView | None = None
        self._heavy_at = -1e9
        self._heavy_timer: Timer | None = None
        self._status_at = -1e9

    def compose(self) -> ComposeResult:
        yield Header()
        yield RunStatus()
        with Horizontal(id="run-body"):
            yield MetricPanel()
            yield LogTail(max_lines=LOG_LINES, id="run-log")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"Run {self.path.parent.name}/{self.path.name}"
        self.follow()
        self.set_interval(1.0, self._tick)

    def on_resize(self) -> None:
        self.query_one("#run-body").set_class(self.size.width < WIDE, "narrow")

    def action_overlay(self) -> None:
        panel = self.query_one(MetricPanel)
        panel.overlay = not panel.overlay

    def _tick(self) -> None:
        """Elapsed time moves on between values (a run logging often redraws it anyway)."""
        if self.view is not None and not self.view.info.is_final \
                and time.monotonic() - self._status_at >= 1.0:
            self.query_one(RunStatus).tick()

    @work(thread=True, exclusive=True, group="follow-run")
    def follow(self) -> None:
        worker = get_current_worker()
        follower = RunFollower(self.path, tail=LOG_LINES, clock=self.dashboard.clock)
        if not self.dashboard.live:
            view = follower.read()
            if view is not None:
                self.post_message(RunUpdated(view))
            return
        follow_run(follower, lambda v: self.post_message(RunUpdated(v)),
                   lambda: worker.is_cancelled)

    def on_run_updated(self, message: RunUpdated) -> None:
        view = message.view
        self.view = view
        status = self.query_one(RunStatus)
        if status.view is None or status.view.info != view.info \
                or status.view.digest.step != view.digest.step \
                or status.view.summary != view.summary \
                or _lasts(status.view) != _lasts(view):
            status.view = view
            self._status_at = time.monotonic()
        self.sub_title = view.info.state
        # The status (with the newest values) now; the charts and the log, most of the
        # screen, at most every HEAVY_EVERY: redrawing them is what following costs.
        self._pending = view
        wait = self._heavy_at + HEAVY_EVERY - time.monotonic()
        if wait <= 0:
            self._draw_heavy()
        elif self._heavy_timer is None:
            self._heavy_timer = self.set_timer(wait + HEAVY_LATE, self._draw_heavy)

    def _draw_heavy(self) -> None:
        if self._heavy_timer is not None:
            self._heavy_timer.stop()
            self._heavy_timer = None
        view, self._pending = self._pending, None
        if view is None:
            return
        self._heavy_at = time.monotonic()
        self.query_one(MetricPanel).metrics = ordered_metrics(view)
        log = self.query_one("#run-log", Log)
        new = view.log_seq - self._log_seq
        if new > 0:
            if new >= len(view.log_tail):
                log.clear()
                log.write_lines(view.log_tail)
            else:
                log.write_lines(view.log_tail[-new:])
        self._log_seq = view.log_seq

    # -- actions -----------------------------------------------------------------------------
    def action_follow(self) -> None:
        log = self.query_one("#run-log", Log)
        log.auto_scroll = not log.auto_scroll
        if log.auto_scroll:
            log.scroll_end(animate=False)
        self.notify("following the log" if log.auto_scroll else "log paused where it is")

    def action_stop(self) -> None:
        if self.view is None:
            return
        if self.view.info.is_final:
            self.notify(f"the run has already ended ({self.view.info.state})", markup=False)
            return
        self.confirm_stop([self.view.info])

    def action_restart(self) -> None:
        if self.view is not None:
            self._restart([])

    def action_restart_changed(self) -> None:
        if self.view is None:
            return
        info = self.view.info
        exp = self.dashboard.manifest.experiments.get(info.experiment)

        def count(overrides: dict[str, list[Any]]) -> int:
            if exp is None:
                return 1
            return len(exp.param_sets({**{k: [v] for k, v in info.spec.params.items()},
                                       **overrides}))

        self.app.push_screen(
            LaunchDialog(f"Restart {info.ref}", [f"now: {params_label(info.spec.params)}"],
                         count, initial=overrides_text(info.spec.params), verb="Restart"),
            lambda pairs: self._restart(pairs) if pairs is not None else None)

    def _restart(self, pairs: list[str]) -> None:
        assert self.view is not None
        run = self.view.info.dir
        dashboard = self.dashboard

        def restart() -> str:
            from dltui.manifest import parse_overrides
            from dltui.queue.launch import relaunch

            made = relaunch(run=run, overrides=parse_overrides(pairs) or None,
                            manifest=dashboard.manifest)
            refs = ", ".join(f"{m.experiment}/{m.run_id}" for m in made)
            return f"queued again: {refs}"

        self.run_blocking(restart)

    def action_resume(self) -> None:
        """Queue the run again in its own directory: it goes on from its checkpoint."""
        if self.view is None:
            return
        run = self.view.info.dir

        def resume() -> str:
            from dltui.queue.requeue import requeue

            return requeue(run=run)

        self.run_blocking(resume)

    def action_tensorboard(self) -> None:
        if self.view is None:
            return
        url = self.dash_app.open_tensorboard([self.view.info])
        if url:
            self.query_one(RunStatus).tensorboard = url

    def action_tag(self) -> None:
        if self.view is not None:
            run_actions.tag_runs(self, [self.view.info])

    def action_note(self) -> None:
        if self.view is not None:
            run_actions.note_run(self, self.view.info)

    def action_reproduce(self) -> None:
        if self.view is not None:
            run_actions.reproduce_run(self, self.view.info)

    def action_remove(self) -> None:
        if self.view is not None:
            run_actions.remove_runs(self, [self.view.info])
