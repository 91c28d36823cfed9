"""Every metric of a run: a title line with its last and best values, then its curve."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from dltui.tui.text import literal, number
from dltui.tui.views import MetricDigest
from dltui.tui.widgets.sparkline import block_chart

_MOST_CHART_ROWS = 6


def chart_rows(count: int, height: int) -> int:
    """Lines of curve each of `count` metrics gets in `height` lines (at least one)."""
    if count == 0:
        return 0
    return max(1, min(_MOST_CHART_ROWS, (height - count) // count))


def render_metrics(metrics: Sequence[MetricDigest], width: int, height: int) -> Text:
    """The metrics, in the order given, as lines of text `width` wide."""
    out = Text(no_wrap=True, overflow="crop", end="")
    if not metrics:
        out.append("no metrics yet", style="dim")
        return out
    rows = chart_rows(len(metrics), height)
    lines = 0
    for digest in metrics:
        if lines >= height > 0:
            break
        if lines:
            out.append("\n")
        values = f"last {number(digest.last)}  best {number(digest.best)} ({digest.mode})  " \
                 f"{digest.count} pts"
        name = literal(digest.name, "bold")
        name.truncate(max(1, width - len(values) - 1), overflow="ellipsis")
        out.append_text(name)
        out.append(" " * max(1, width - name.cell_len - len(values)))
        out.append(values, style="dim")
        lines += 1
        curve = block_chart(digest.points, max(1, width), rows)
        for row in curve if digest.points else ["(no finite values)" if digest.count else ""]:
            if lines >= height > 0:
                break
            out.append("\n")
            out.append(row, style="cyan")
            lines += 1
    return out


class MetricPanel(Widget):
    """Live curves of a run's metrics; the main metric first."""

    DEFAULT_CSS = """
    MetricPanel { height: 1fr; min-height: 4; padding: 0 1; }
    """
    metrics: reactive[tuple[MetricDigest, ...]] = reactive((), layout=False)

    def render(self) -> Text:
        return render_metrics(self.metrics, self.content_region.width, self.content_region.height)
