"""A widget drawn as a stack of texts that repaints only the texts that changed.

Textual draws a widget's whole content again for any change in it. A run's status
moves ten times a second and its charts once a second, yet most of their lines stay
as they were (the params, the charts of the metrics that were not logged): redrawing
them is most of what following a run costs. Here each text of the stack is turned
into lines once, and a new stack repaints the lines of the texts that differ.
"""

from __future__ import annotations

from rich.text import Text
from textual.geometry import Region
from textual.strip import Strip
from textual.visual import Visual, visualize
from textual.widget import Widget
from typing_extensions import Self


def text_height(text: Text) -> int:
    return text.plain.count("\n") + 1


class StackedText(Widget):
    """Drawn from `stack()`, texts top to bottom; `repaint()` after the stack changed."""

    _drawn: tuple[object, list[Text], list[list[Strip] | None]] | None = None  # frame, texts, lines

    def stack(self) -> list[Text]:
        """The texts to draw, top to bottom (a subclass says what they are)."""
        raise NotImplementedError

    def refresh(self, *regions: Region, repaint: bool = True, layout: bool = False,
                recompose: bool = False) -> Self:
        if not regions:
            self._drawn = None  # a whole repaint (a resize, a style) builds every line
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def repaint(self) -> None:
        """Repaint the lines of the texts that changed since the last repaint; all of it
        when a text's height changed (or nothing was drawn yet)."""
        if self._drawn is None or self._drawn[0] != self._frame():
            self.refresh()
            return
        frame, before, lines = self._drawn
        stack = self.stack()
        heights = [text_height(text) for text in stack]
        if heights != [text_height(text) for text in before]:
            self.refresh()
            return
        top = 0
        for index, (old, new) in enumerate(zip(before, stack, strict=True)):
            if new is not old and new != old:
                lines[index] = None
                super().refresh(Region(0, top, self.size.width, heights[index]))
            top += heights[index]
        self._drawn = (frame, stack, lines)

    def _frame(self) -> tuple[object, ...]:
        """What every line depends on besides its text: when it changes, all is drawn."""
        return (self.size, self.visual_style)

    def render_line(self, y: int) -> Strip:
        if self._drawn is None or self._drawn[0] != self._frame():
            stack = self.stack()
            self._drawn = (self._frame(), stack, [None] * len(stack))
        _, stack, lines = self._drawn
        width = self.size.width
        top = 0
        for index, text in enumerate(stack):
            strips = lines[index]
            if strips is None:
                strips = lines[index] = Visual.to_strips(
                    self, visualize(self, text), width, text_height(text), self.visual_style)
            if y < top + len(strips):
                return strips[y - top]
            top += len(strips)
        return Strip.blank(width, self.visual_style.rich_style)
