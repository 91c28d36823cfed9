"""Queue / GPUs: what runs on each GPU (or the CPU), what waits and in which order;
GPU memory and utilisation where there is a GPU. Reorder and cancel queued runs."""

from __future__ import annotations

from collections.abc import Sequence

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header
from textual.worker import get_current_worker

from dltui.queue.gpus import Gpu
from dltui.queue.scheduler import queue_key
from dltui.store import rundir as rd
from dltui.store.runs import RunInfo
from dltui.system.figures import first_training_metric, split_system, use_text
from dltui.tui.feeds import follow_gpus
from dltui.tui.messages import GpusUpdated
from dltui.tui.screens.base import DashboardScreen
from dltui.tui.screens.experiments import latest_style
from dltui.tui.text import eta, number, params_label, progress, state_label
from dltui.tui.views import CatalogSnapshot, RunDigest
from dltui.tui.widgets.gpu_panel import GpuPanel
from dltui.tui.widgets.virtual_table import Column, Row, VirtualTable

# At 80 columns: slot, run, experiment, state, progress and ETA; the rest when wider.
COLUMNS = (
    Column("slot", "Slot", max_width=10),
    Column("run", "Run", width=20),
    Column("experiment", "Experiment", max_width=24, min_width=12),
    Column("state", "State", width=11, style_of=latest_style),
    Column("progress", "Progress", max_width=12),
    Column("eta", "ETA", max_width=9, drop=2),
    Column("metric", "Latest", max_width=24, drop=1),
    Column("use", "Use", max_width=30, drop=4),  # the run's CPU, memory, GPUs now
    Column("params", "Params", max_width=40, drop=3),
)


def slot_label(info: RunInfo) -> str:
    ids = info.status.gpu_ids or []
    return "GPU " + ",".join(str(i) for i in ids) if ids else "CPU"


def queue_rows(active: Sequence[RunInfo], digests: dict[str, RunDigest],
               gpus: Sequence[Gpu] = ()) -> list[Row]:
    """Running runs by slot (idle GPUs too), then queued runs in the order they start."""
    running = sorted((i for i in active if i.state != rd.QUEUED),
                     key=lambda i: (slot_label(i) == "CPU", slot_label(i), i.run_id))
    queued = sorted((i for i in active if i.state == rd.QUEUED), key=queue_key)
    busy = {g for i in running for g in i.status.gpu_ids or []}
    rows = []
    for info in running:
        digest = digests.get(info.ref, RunDigest())
        latest = ""
        metric = info.spec.metric or first_training_metric(digest.metrics)
        if metric in digest.metrics:
            latest = f"{metric} {number(digest.metrics[metric].last)}"
        _, use = split_system({name: m.last for name, m in digest.metrics.items()})
        rows.append(Row(info.ref, (slot_label(info), info.run_id, info.experiment,
                                   state_label(info.state), progress(digest.step, digest.total),
                                   eta(digest.eta), latest, use_text(use),
                                   params_label(info.spec.params))))
    for gpu in gpus:
        if gpu.index not in busy:
            rows.append(Row(f"gpu:{gpu.index}", (f"GPU {gpu.index}", "", "", "idle", "", "",
                                                 "", "", ""), style="dim"))
    for position, info in enumerate(queued, 1):
        waits = " (waits)" if info.status.waits_for else ""
        rows.append(Row(info.ref, (f"#{position}{waits}", info.run_id, info.experiment,
                                   state_label(info.state), "", "", "", "",
                                   params_label(info.spec.params))))
    return rows


class QueueScreen(DashboardScreen):
    BINDINGS = [
        Binding("u,shift+up", "move(-1)", "Move up"),
        Binding("d,shift+down", "move(1)", "Move down"),
        Binding("x", "cancel", "Cancel/stop"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.gpus: list[Gpu] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield GpuPanel()
        yield VirtualTable(COLUMNS, id="queue", empty_text="nothing queued or running")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Queue"
        self.query_one(VirtualTable).focus()

    def on_screen_resume(self) -> None:  # the base class shows the catalog
        self.watch_gpus()

    def on_screen_suspend(self) -> None:
        self.workers.cancel_group(self, "gpus")

    @work(thread=True, exclusive=True, group="gpus")
    def watch_gpus(self) -> None:
        worker = get_current_worker()
        query = self.dashboard.query_gpus
        post = lambda gpus: self.post_message(GpusUpdated(gpus))  # noqa: E731
        if not self.dashboard.live:
            post(query())
            return
        follow_gpus(query, post, lambda: worker.is_cancelled)

    def on_gpus_updated(self, message: GpusUpdated) -> None:
        self.gpus = message.gpus
        self.query_one(GpuPanel).gpus = tuple(message.gpus)
        self.show_catalog(self.snapshot)

    def show_catalog(self, snapshot: CatalogSnapshot) -> None:
        rows = queue_rows(snapshot.active, dict(snapshot.digests), self.gpus)
        self.query_one(VirtualTable).set_rows(rows)
        queued = sum(i.state == rd.QUEUED for i in snapshot.active)
        self.sub_title = f"{len(snapshot.active) - queued} running · {queued} queued"

    def _current(self) -> RunInfo | None:
        key = self.query_one(VirtualTable).current_key
        return next((i for i in self.snapshot.active if i.ref == key), None)

    def action_open(self) -> None:
        info = self._current()
        if info is not None:
            self.dash_app.open_run(info)

    def on_virtual_table_selected(self, _event: VirtualTable.Selected) -> None:
        self.action_open()

    def action_move(self, offset: int) -> None:
        info = self._current()
        if info is None or info.state != rd.QUEUED:
            self.notify("only queued runs can be moved")
            return
        store = self.dashboard.store

        def move() -> str:
            from dltui.queue.order import move_queued

            order = move_queued(store, info.run_id, offset)
            ids = [i.run_id for i in order]
            return f"{info.run_id} is now #{ids.index(info.run_id) + 1} of {len(ids)}"

        self.run_blocking(move)

    def action_cancel(self) -> None:
        info = self._current()
        if info is not None:
            self.confirm_stop([info])
