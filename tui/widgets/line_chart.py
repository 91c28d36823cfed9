"""A line chart of one metric over one or more runs, and the keys every chart obeys.

The widget holds what to draw (the curves, with the smoothing, scale, axis and
cursor chosen); `dltui.tui.chart.render_chart` draws it. It is redrawn only when
one of those changed or it was resized.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from rich.text import Text
from textual.binding import Binding
from textual.reactive import reactive
from textual.widget import Widget

from dltui.tui.chart import ChartOptions, ChartSeries, render_chart
from dltui.tui.views import MetricDigest

# The smoothing weights `z` steps through (TensorBoard's slider, in four stops).
SMOOTHING_STEPS = (0.0, 0.6, 0.9, 0.99)
Curves = tuple[tuple[str, MetricDigest], ...]


def chart_series(curves: Curves, wall_time: bool) -> tuple[ChartSeries, ...]:
    """The curves as chart series: x in steps, or in seconds since each run began."""
    return tuple(ChartSeries(label, digest.xs(wall_time), digest.points, digest.mode)
                 for label, digest in curves)


class LineChart(Widget):
    """Curves of one metric; `curves` are (label, digest) pairs, one line each."""

    DEFAULT_CSS = """
    LineChart { height: 1fr; min-height: 4; padding: 0 1; }
    """
    curves: reactive[Curves] = reactive((), layout=False)
    options: reactive[ChartOptions] = reactive(ChartOptions(), layout=False)
    wall_time: reactive[bool] = reactive(False, layout=False)

    def __init__(self, title: str = "", *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.set_reactive(LineChart.options, ChartOptions(title=title))

    def series(self) -> tuple[ChartSeries, ...]:
        return chart_series(self.curves, self.wall_time)

    def render(self) -> Text:
        region = self.content_region
        options = replace(self.options, x_is_time=self.wall_time)
        return render_chart(self.series(), region.width, region.height, options)

    # -- what the keys change ----------------------------------------------------------------
    def step_cursor(self, direction: int) -> None:
        """Move the cursor to the next (or previous) point of the first curve; past the
        last point it goes away."""
        xs = sorted({x for s in self.series() for x in s.xs})
        if not xs:
            return
        at = self.options.cursor
        if at is None:
            cursor: float | None = xs[-1] if direction < 0 else xs[0]
        else:
            later = [x for x in xs if (x > at if direction > 0 else x < at)]
            cursor = (later[0] if direction > 0 else later[-1]) if later else None
        self.options = replace(self.options, cursor=cursor)


class ChartKeys:
    """Keys for the charts of a screen: smoothing, log scale, step or wall time, cursor.
    Mixed into a Screen; every LineChart on it follows."""

    CHART_BINDINGS = [
        Binding("z", "smooth", "Smooth"),
        Binding("y", "log_y", "Log y", show=False),
        Binding("x", "wall_time", "Step/time", show=False),
        Binding("left_square_bracket", "cursor_step(-1)", "Cursor ←", show=False),
        Binding("right_square_bracket", "cursor_step(1)", "Cursor →", show=False),
    ]

    def charts(self) -> Sequence[LineChart]:
        return list(self.query(LineChart))  # type: ignore[attr-defined]

    def action_smooth(self) -> None:
        charts = self.charts()
        if not charts:
            return
        now = charts[0].options.smoothing
        weight = SMOOTHING_STEPS[(SMOOTHING_STEPS.index(now) + 1) % len(SMOOTHING_STEPS)
                                 if now in SMOOTHING_STEPS else 0]
        for chart in charts:
            chart.options = replace(chart.options, smoothing=weight)
        self.notify(f"smoothing {weight:g}" if weight else "smoothing off")  # type: ignore

    def action_log_y(self) -> None:
        charts = self.charts()
        if charts:
            log_y = not charts[0].options.log_y
            for chart in charts:
                chart.options = replace(chart.options, log_y=log_y)
            self.notify("log scale" if log_y else "linear scale")  # type: ignore

    def action_wall_time(self) -> None:
        charts = self.charts()
        if charts:
            wall = not charts[0].wall_time
            for chart in charts:
                chart.options = replace(chart.options, cursor=None)
                chart.wall_time = wall
            self.notify("x: wall time" if wall else "x: step")  # type: ignore

    def action_cursor_step(self, direction: int) -> None:
        for chart in self.charts():
            chart.step_cursor(direction)
