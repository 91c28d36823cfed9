"""Messages the feeds post to the app's thread. Each carries a whole snapshot, so a
newer one replaces an older one still waiting in the queue: the latest value wins
and a flood of updates never backs up."""

from __future__ import annotations

from textual.message import Message

from dltui.queue.gpus import Gpu
from dltui.tui.views import CatalogSnapshot, RunView


class CatalogUpdated(Message):
    def __init__(self, snapshot: CatalogSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, CatalogUpdated)


class RunUpdated(Message):
    bubble = False  # for the run's screen alone: the app has nothing to do with it

    def __init__(self, view: RunView) -> None:
        super().__init__()
        self.view = view

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RunUpdated) and message.view.info.ref == self.view.info.ref


class GpusUpdated(Message):
    def __init__(self, gpus: list[Gpu]) -> None:
        super().__init__()
        self.gpus = gpus

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, GpusUpdated)


class ActionDone(Message):
    """A blocking action finished in a worker: tell the user, and refresh the catalog."""

    def __init__(self, text: str, *, error: bool = False) -> None:
        super().__init__()
        self.text = text
        self.error = error
