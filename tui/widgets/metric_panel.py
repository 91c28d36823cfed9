"""Every metric of a run: a chart each (a title line with its last and best values, y
ticks, the x axis), or all of them on one chart with a legend."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from rich.text import Text
from textual.reactive import reactive

from dltui.tui.chart import ChartOptions, ChartSeries, render_chart
from dltui.tui.text import number, plural
from dltui.tui.views import MetricDigest
from dltui.tui.widgets.line_chart import Curves, LineChart
from dltui.tui.widgets.stacked_text import StackedText

# Lines one metric's chart needs to be worth drawing: title, three plot rows, the axis.
_LEAST_CHART_LINES = 5
_MOST_CHART_LINES = 14


def chart_lines(count: int, height: int) -> int:
    """Lines each of `count` metrics gets in `height` lines."""
    if count == 0:
        return 0
    return max(_LEAST_CHART_LINES, min(_MOST_CHART_LINES, height // count))


def metric_title(digest: MetricDigest) -> str:
    return (f"{digest.name}  last {number(digest.last)}  best {number(digest.best)} "
            f"({digest.mode})  {plural(digest.count, 'point')}")


ChartDrawer = Callable[[Sequence[ChartSeries], int, int, ChartOptions], Text]


def metric_charts(metrics: Sequence[MetricDigest], series: Sequence[ChartSeries], width: int,
                  height: int, options: ChartOptions | None = None, *,
                  overlay: bool = False, draw: ChartDrawer = render_chart) -> list[Text]:
    """The pieces `render_metrics` stacks, top to bottom: a chart each (the last one
    with the line saying how many did not fit), or the one overlaid chart."""
    opts = options or ChartOptions()
    if not metrics:
        empty = Text(no_wrap=True, overflow="crop", end="")
        empty.append("no metrics yet", style="dim")
        return [empty]
    if overlay and len(metrics) > 1:
        return [render_chart(series, width, height, replace(opts, title=""))]
    each = chart_lines(len(metrics), height)
    fits = max(1, height // each) if height > 0 else len(metrics)
    shown = list(zip(metrics, series, strict=True))[:fits]
    left = len(metrics) - fits
    pieces = []
    for index, (digest, line) in enumerate(shown):
        last = index == len(shown) - 1
        lines = max(each, height - each * index) - (left > 0) if last else each
        chart = draw([line], width, lines,
                     replace(opts, title=metric_title(digest), legend=opts.cursor is not None))
        if last and left > 0:
            chart = chart.copy()
            chart.append("\n")
            chart.append(f"… {plural(left, 'more metric')} (a: all on one chart)", style="dim")
        pieces.append(chart)
    return pieces


def render_metrics(metrics: Sequence[MetricDigest], series: Sequence[ChartSeries], width: int,
                   height: int, options: ChartOptions | None = None, *,
                   overlay: bool = False) -> Text:
    """The metrics, in the order given, as charts in `height` lines `width` wide;
    `series` are their curves (x in steps or time). With `overlay`, one chart."""
    out = Text(no_wrap=True, overflow="crop", end="")
    for index, piece in enumerate(metric_charts(metrics, series, width, height, options,
                                                overlay=overlay)):
        if index:
            out.append("\n")
        out.append_text(piece)
    return out


class ChartMemo:
    """`render_chart` that keeps the last chart of each curve: one whose points (the
    same tuples), size and options did not change is not drawn again, so a run's quiet
    metrics cost nothing while another one moves."""

    def __init__(self) -> None:
        self._drawn: dict[str, tuple[ChartSeries, int, int, ChartOptions, Text]] = {}

    def __call__(self, series: Sequence[ChartSeries], width: int, height: int,
                 options: ChartOptions) -> Text:
        if len(series) != 1:
            return render_chart(series, width, height, options)
        (line,) = series
        found = self._drawn.get(line.label)
        if found is not None:
            old, old_width, old_height, old_options, chart = found
            if (old.xs is line.xs and old.ys is line.ys and old.mode == line.mode
                    and (old_width, old_height, old_options) == (width, height, options)):
                return chart
        chart = render_chart(series, width, height, options)
        self._drawn[line.label] = (line, width, height, options, chart)
        return chart


class MetricPanel(LineChart, StackedText):  # LineChart first: the keys query it
    """Live charts of a run's metrics; the main metric first. A new set of metrics
    repaints the charts that changed alone."""

    DEFAULT_CSS = """
    MetricPanel { height: 1fr; min-height: 4; padding: 0 1; }
    """
    # Set together by `metrics`, which repaints what changed itself.
    curves: reactive[Curves] = reactive((), layout=False, repaint=False)
    metrics: reactive[tuple[MetricDigest, ...]] = reactive((), layout=False, repaint=False)
    overlay: reactive[bool] = reactive(False, layout=False)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._memo = ChartMemo()

    def watch_metrics(self, metrics: tuple[MetricDigest, ...]) -> None:
        self.curves = tuple((m.name, m) for m in metrics)
        self.repaint()

    def stack(self) -> list[Text]:
        region = self.content_region
        options = replace(self.options, x_is_time=self.wall_time)
        return metric_charts(self.metrics, self.series(), region.width, region.height,
                             options, overlay=self.overlay, draw=self._memo)

    def render(self) -> Text:
        region = self.content_region
        options = replace(self.options, x_is_time=self.wall_time)
        return render_metrics(self.metrics, self.series(), region.width, region.height,
                              options, overlay=self.overlay)
