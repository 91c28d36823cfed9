"""A table that draws only the rows on screen, so 10,000 rows cost what 30 do.

Textual's DataTable measures every cell when rows are added and freezes for a
second or more on its first paint of 10,000 rows. This one keeps rows as plain
strings, sizes columns from a sample, and renders a line when it is shown.
Cells are never parsed as markup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

# Rows looked at to size a column that has no fixed width.
_WIDTH_SAMPLE = 500
_GAP = 2
_GUTTER = 2  # the mark column


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int | None = None  # fixed width; None fits the content up to max_width
    max_width: int = 40
    align: str = "left"
    style_of: Callable[[str], str] | None = None  # a cell's style from its text
    # Narrow screens drop columns, the highest `drop` first; 0 is never dropped.
    drop: int = 0
    # The one column that gives way (down to `min_width`) before any is dropped.
    min_width: int | None = None


@dataclass(frozen=True)
class Row:
    key: str
    cells: tuple[str, ...]
    style: str = ""


class TableRow(Protocol):
    """Anything with a key, cells and a style is a row (a `Row`, or a record of the caller's)."""

    @property
    def key(self) -> str: ...

    @property
    def cells(self) -> tuple[str, ...]: ...

    @property
    def style(self) -> str: ...


def fit_widths(columns: Sequence[Column], rows: Sequence[TableRow]) -> list[int]:
    """Each column's width: fixed, or its widest cell (in a sample) and label."""
    if len(rows) > _WIDTH_SAMPLE:
        step = len(rows) / _WIDTH_SAMPLE
        sample = [rows[int(i * step)] for i in range(_WIDTH_SAMPLE)]
    else:
        sample = list(rows)
    widths = [column.width if column.width is not None else cell_len(column.label)
              for column in columns]
    auto = [i for i, column in enumerate(columns) if column.width is None]
    for row in sample:
        cells = row.cells
        for index in auto:
            if index < len(cells):
                size = _cells(cells[index])
                if size > widths[index]:
                    widths[index] = size
    return [max(1, min(columns[i].max_width, w)) if i in auto else w
            for i, w in enumerate(widths)]


def fit_to(columns: Sequence[Column], widths: Sequence[int], room: int
           ) -> tuple[list[int], list[int]]:
    """Which columns show in `room` cells, and their widths: a column with a `min_width`
    narrows first, then the columns with the highest `drop` go, until the rest fit."""
    shown = list(range(len(columns)))

    def total(chosen: list[int], narrowed: bool) -> int:
        cells = [min(widths[i], columns[i].min_width or widths[i]) if narrowed else widths[i]
                 for i in chosen]
        return _GUTTER + sum(cells) + _GAP * max(0, len(chosen) - 1)

    while total(shown, True) > room:
        droppable = [i for i in shown if columns[i].drop > 0]
        if not droppable:
            break
        shown.remove(max(droppable, key=lambda i: (columns[i].drop, i)))
    sized = [widths[i] for i in shown]
    over = total(shown, False) - room
    for at, index in enumerate(shown):
        least = columns[index].min_width
        if over > 0 and least is not None and sized[at] > least:
            give = min(over, sized[at] - least)
            sized[at] -= give
            over -= give
    return shown, sized


def layout_line(cells: Sequence[str], columns: Sequence[Column], widths: Sequence[int]) -> str:
    """One row as plain text, cells padded or cut to their widths (for tests and logs)."""
    parts = []
    for text, column, width in zip(cells, columns, widths, strict=False):
        parts.append(_fit(text, width, column.align == "right"))
    return (" " * _GAP).join(parts)


_CONTROL = {code: None for code in [*range(0x20), *range(0x7F, 0xA0)]}


def _cells(text: str) -> int:
    return len(text) if text.isascii() else cell_len(text)


def _fit(text: str, width: int, right: bool) -> str:
    """`text` without control characters, cut or padded to exactly `width` cells."""
    text = text.translate(_CONTROL)
    size = _cells(text)
    if size > width:
        text = _cut(text, width)
        size = _cells(text)
    pad = " " * (width - size)
    return pad + text if right else text + pad


def _cut(text: str, width: int) -> str:
    if width <= 1:
        return "…"[:width]
    out = []
    used = 0
    for char in text:
        size = cell_len(char)
        if used + size > width - 1:
            break
        out.append(char)
        used += size
    return "".join(out) + "…"


class TableMessage(Message):
    """What a VirtualTable posts; `control` is the table (for `on(..., "#id")`)."""

    def __init__(self, table: VirtualTable) -> None:
        super().__init__()
        self.table = table

    @property
    def control(self) -> VirtualTable:
        return self.table


class VirtualTable(ScrollView, can_focus=True):
    """Rows of plain strings with a cursor, marks, and a header that stays put."""

    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
        Binding("enter", "select", "Open"),
    ]
    COMPONENT_CLASSES = {
        "virtual-table--header",
        "virtual-table--cursor",
        "virtual-table--cursor-blurred",
        "virtual-table--marked",
        "virtual-table--empty",
    }
    DEFAULT_CSS = """
    VirtualTable {
        height: 1fr;
        background: $surface;
    }
    VirtualTable > .virtual-table--header { text-style: bold; background: $panel; }
    VirtualTable > .virtual-table--cursor { background: $accent; color: $text; }
    VirtualTable > .virtual-table--cursor-blurred { background: $accent 30%; }
    VirtualTable > .virtual-table--marked { color: $warning; text-style: bold; }
    VirtualTable > .virtual-table--empty { color: $text-muted; }
    """

    class Highlighted(TableMessage):
        """The cursor moved to the row `key` (None: the table is empty)."""

        def __init__(self, table: VirtualTable, key: str | None) -> None:
            super().__init__(table)
            self.key = key

    class Selected(TableMessage):
        """Enter (or a click) on the row `key`."""

        def __init__(self, table: VirtualTable, key: str) -> None:
            super().__init__(table)
            self.key = key

    class HeaderClicked(TableMessage):
        """A click on the header of `column`."""

        def __init__(self, table: VirtualTable, column: str) -> None:
            super().__init__(table)
            self.column = column

    def __init__(self, columns: Sequence[Column] = (), *, empty_text: str = "nothing to show",
                 name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.columns: list[Column] = list(columns)
        self.rows: Sequence[TableRow] = []
        self.widths: list[int] = fit_widths(self.columns, [])
        self.shown: list[int] = list(range(len(self.columns)))  # columns that fit
        self.shown_widths: list[int] = list(self.widths)
        self.marked: set[str] = set()
        self.cursor = 0
        self.empty_text = empty_text
        self.sort_column: str | None = None
        self.sort_descending = False
        self._index: dict[str, int] | None = None
        self._styles: dict[tuple[str, str, bool, bool, bool], Style] = {}

    # -- data ------------------------------------------------------------------------------
    def set_columns(self, columns: Sequence[Column]) -> None:
        self.columns = list(columns)
        self._relayout()

    def set_rows(self, rows: Sequence[TableRow], *, keep_cursor: bool = True) -> None:
        """Replace every row; the cursor stays on the same key where it still exists."""
        key = self.current_key if keep_cursor else None
        self.rows = rows
        self._index = None
        self._relayout()
        found = self._position(key) if key is not None else 0
        self.move_cursor(min(self.cursor, len(rows) - 1) if found is None else found,
                         announce=key != self.current_key)

    def _relayout(self) -> None:
        self.widths = fit_widths(self.columns, self.rows)
        self._fit()
        self.refresh()

    def _fit(self) -> None:
        room = self.scrollable_content_region.width or self.size.width or 10_000
        self.shown, self.shown_widths = fit_to(self.columns, self.widths, room)
        width = _GUTTER + sum(self.shown_widths) + _GAP * max(0, len(self.shown) - 1)
        self.virtual_size = Size(width, len(self.rows) + 1)

    @property
    def shown_columns(self) -> list[Column]:
        return [self.columns[i] for i in self.shown]

    @property
    def current_key(self) -> str | None:
        return self.rows[self.cursor].key if 0 <= self.cursor < len(self.rows) else None

    @property
    def current_row(self) -> TableRow | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    def _position(self, key: str) -> int | None:
        """Where the row of `key` is; the index of keys is built only when asked for."""
        if self._index is None:
            current = self.cursor
            if 0 <= current < len(self.rows) and self.rows[current].key == key:
                return current  # the usual case: the cursor's row is still where it was
            self._index = {row.key: i for i, row in enumerate(self.rows)}
        return self._index.get(key)

    def row_of(self, key: str) -> TableRow | None:
        index = self._position(key)
        return self.rows[index] if index is not None else None

    def toggle_mark(self, key: str | None = None) -> None:
        key = key or self.current_key
        if key is None:
            return
        self.marked.symmetric_difference_update({key})
        self.refresh()

    def select_key(self, key: str) -> bool:
        index = self._position(key)
        if index is None:
            return False
        self.move_cursor(index)
        return True

    # -- cursor ----------------------------------------------------------------------------
    @property
    def page_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def move_cursor(self, index: int, *, announce: bool = True) -> None:
        index = max(0, min(index, len(self.rows) - 1))
        if index != self.cursor:
            self.cursor = index
            announce = True
        top = round(self.scroll_y)
        if index < top:
            self.scroll_to(y=index, animate=False)
        elif index >= top + self.page_rows:
            self.scroll_to(y=index - self.page_rows + 1, animate=False)
        self.refresh()
        if announce:
            self.post_message(self.Highlighted(self, self.current_key))

    def action_cursor(self, delta: int) -> None:
        self.move_cursor(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self.move_cursor(self.cursor + direction * self.page_rows)

    def action_jump(self, where: int) -> None:
        self.move_cursor(len(self.rows) - 1 if where < 0 else where)

    def action_select(self) -> None:
        if self.current_key is not None:
            self.post_message(self.Selected(self, self.current_key))

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()


    def on_resize(self) -> None:
        self._fit()
        self.move_cursor(self.cursor, announce=False)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            column = self._column_at(offset.x + round(self.scroll_x))
            if column is not None:
                self.post_message(self.HeaderClicked(self, column))
            return
        index = round(self.scroll_y) + offset.y - 1
        if 0 <= index < len(self.rows):
            self.move_cursor(index)
            if event.chain >= 2:
                self.action_select()

    def _column_at(self, x: int) -> str | None:
        left = _GUTTER
        for column, width in zip(self.shown_columns, self.shown_widths, strict=False):
            if left <= x < left + width + _GAP:
                return column.key
            left += width + _GAP
        return None

    # -- drawing ---------------------------------------------------------------------------
    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()

    def _style(self, row: str = "", cell: str = "", marked: bool = False,
               cursor: bool = False) -> Style:
        """Composed styles, cached: a frame draws dozens of cells with a handful of styles."""
        key = (row, cell, marked, cursor, self.has_focus)
        found = self._styles.get(key)
        if found is None:
            found = self.rich_style
            if row:
                found += Style.parse(row)
            if marked:
                found += self.get_component_rich_style("virtual-table--marked")
            if cell:
                found += Style.parse(cell)
            if cursor:
                found += self.get_component_rich_style(
                    "virtual-table--cursor" if self.has_focus else "virtual-table--cursor-blurred")
            self._styles[key] = found
        return found

    def header_text(self) -> str:
        labels = []
        columns = self.shown_columns
        for column in columns:
            label = column.label
            if column.key == self.sort_column:
                label += " ▼" if self.sort_descending else " ▲"
            labels.append(label)
        return " " * _GUTTER + layout_line(labels, columns, self.shown_widths)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        blank = self._style()
        if y == 0:
            header = self.header_text()
            style = blank + self.get_component_rich_style("virtual-table--header")
            strip = Strip([Segment(header, style)], cell_len(header))
            return strip.crop_extend(scroll_x, scroll_x + width, style)
        index = scroll_y + y - 1
        if index >= len(self.rows):
            if not self.rows and y == 1:
                text = " " * _GUTTER + self.empty_text
                style = blank + self.get_component_rich_style("virtual-table--empty")
                return Strip([Segment(text, style)], cell_len(text)).crop_extend(0, width, blank)
            return Strip.blank(width, blank)
        strip = self._row_strip(index)
        return strip.crop_extend(scroll_x, scroll_x + width, blank)

    def _row_strip(self, index: int) -> Strip:
        row = self.rows[index]
        marked = row.key in self.marked
        cursor = index == self.cursor
        style = self._style(row.style, "", marked, cursor)
        segments = [Segment("● " if marked else "  ", style)]
        cells = row.cells
        total = _GUTTER
        for i, (index, width) in enumerate(zip(self.shown, self.shown_widths, strict=False)):
            column = self.columns[index]
            if i:
                segments.append(Segment(" " * _GAP, style))
                total += _GAP
            cell = cells[index] if index < len(cells) else ""
            segments.append(Segment(_fit(cell, width, column.align == "right"), self._style(
                row.style, column.style_of(cell) if column.style_of else "", marked, cursor)))
            total += width
        return Strip(segments, total)

    def rendered_lines(self) -> list[str]:
        """The rows as plain text, header first (what a test compares against)."""
        columns = self.shown_columns
        return [self.header_text().rstrip()] + [
            (("● " if r.key in self.marked else "  ")
             + layout_line([r.cells[i] if i < len(r.cells) else "" for i in self.shown],
                           columns, self.shown_widths)).rstrip() for r in self.rows]
