"""Every metric of a run: a chart each (a title line with its last and best values, y
ticks, the x axis), or all of them on one chart with a legend."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from rich.text import Text
from textual.reactive import reactive

from dltui.tui.chart import ChartOptions, ChartSeries, render_chart
from dltui.tui.text import number, plural
from dltui.tui.views import MetricDigest
from dltui.tui.widgets.line_chart import LineChart

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


def render_metrics(metrics: Sequence[MetricDigest], series: Sequence[ChartSeries], width: int,
                   height: int, options: ChartOptions | None = None, *,
                   overlay: bool = False) -> Text:
    """The metrics, in the order given, as charts in `height` lines `width` wide;
    `series` are their curves (x in steps or time). With `overlay`, one chart."""
    opts = options or ChartOptions()
    out = Text(no_wrap=True, overflow="crop", end="")
    if not metrics:
        out.append("no metrics yet", style="dim")
        return out
    if overlay and len(metrics) > 1:
        return render_chart(series, width, height, replace(opts, title=""))
    each = chart_lines(len(metrics), height)
    fits = max(1, height // each) if height > 0 else len(metrics)
    shown = list(zip(metrics, series, strict=True))[:fits]
    for index, (digest, line) in enumerate(shown):
        if index:
            out.append("\n")
        lines = each if index < len(shown) - 1 else max(each, height - each * index)
        left = len(metrics) - fits
        if left > 0 and index == len(shown) - 1:
            lines -= 1
        chart = render_chart([line], width, lines,
                             replace(opts, title=metric_title(digest),
                                     legend=opts.cursor is not None))
        out.append_text(chart)
        if left > 0 and index == len(shown) - 1:
            out.append("\n")
            out.append(f"… {plural(left, 'more metric')} (a: all on one chart)", style="dim")
    return out


class MetricPanel(LineChart):
    """Live charts of a run's metrics; the main metric first."""

    DEFAULT_CSS = """
    MetricPanel { height: 1fr; min-height: 4; padding: 0 1; }
    """
    metrics: reactive[tuple[MetricDigest, ...]] = reactive((), layout=False)
    overlay: reactive[bool] = reactive(False, layout=False)

    def watch_metrics(self, metrics: tuple[MetricDigest, ...]) -> None:
        self.curves = tuple((m.name, m) for m in metrics)

    def render(self) -> Text:
        region = self.content_region
        options = replace(self.options, x_is_time=self.wall_time)
        return render_metrics(self.metrics, self.series(), region.width, region.height,
                              options, overlay=self.overlay)
