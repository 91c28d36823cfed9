"""The run's log: Textual's Log, made cheap to grow.

Textual lays the whole screen out again whenever a scrolling widget's virtual size
changes, and a log that grows changes it with every line: with a run printing ten
lines a second, that redraws every widget ten times a second. Here a longer log
updates its own scrollbars and repaints itself; the screen is laid out again only
when a scrollbar appears or goes, which changes the room the log has.
"""

from __future__ import annotations

from textual.geometry import Size
from textual.reactive import Reactive
from textual.widgets import Log


class LogTail(Log):
    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    def watch_virtual_size(self, size: Size) -> None:
        bars = (self.show_vertical_scrollbar, self.show_horizontal_scrollbar)
        self._scroll_update(size)
        if bars != (self.show_vertical_scrollbar, self.show_horizontal_scrollbar):
            self.refresh(layout=True)
