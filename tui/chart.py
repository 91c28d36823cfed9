"""Line charts drawn with braille dots: a pure function from series to styled text.

Each character cell holds 2 x 4 dots, so a chart 60 cells wide draws 120 points
across. The chart has y ticks on the left, an x axis under it, a legend above
(the value of each series at the cursor, else its last value), the best point
of each series marked, optional EMA smoothing (TensorBoard's, debiased) and a
log scale. NaN and inf are skipped, never drawn; non-positive values are
skipped on a log scale.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from rich.text import Text

# Series colours, in the order series are given; they repeat after the last.
COLORS = ("cyan", "magenta", "yellow", "green", "bright_blue", "red", "bright_white",
          "orange1", "spring_green2", "orchid")
BEST_MARK = "◆"
_BRAILLE = 0x2800
# Dot bits of a braille cell, by (column, row) within the cell.
_DOTS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))


@dataclass(frozen=True)
class ChartSeries:
    """One line: its points (x ascending) and which way is better for its best mark."""

    label: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    mode: str = "min"


@dataclass(frozen=True)
class ChartOptions:
    smoothing: float = 0.0  # EMA weight in [0, 1): 0 draws the values as logged
    log_y: bool = False
    x_label: str = "step"
    x_is_time: bool = False  # x in seconds: ticks read 30s, 2m, 1h
    cursor: float | None = None  # an x whose values the legend reads
    whole_x: bool = False  # x ticks at whole numbers only (set when every x is one)
    legend: bool = True
    title: str = ""


def ema(values: Sequence[float], weight: float) -> list[float]:
    """TensorBoard's smoothing: an exponential moving average, debiased at the start so
    the first points are not pulled towards zero. Non-finite values pass through."""
    if weight <= 0:
        return list(values)
    out = []
    last = 0.0
    count = 0
    for value in values:
        if not math.isfinite(value):
            out.append(value)
            continue
        count += 1
        last = last * weight + (1 - weight) * value
        out.append(last / (1 - weight ** count))
    return out


def nice_ticks(low: float, high: float, count: int, *, whole: bool = False) -> list[float]:
    """About `count` round values (1, 2 or 5 times a power of ten apart) in [low, high];
    whole numbers only with `whole` (steps, epochs)."""
    if count < 1 or not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high <= low:
        return [low]
    ticks = _ticks(low, high, count, whole)
    for more in (2, 4, 8):  # a narrow range between two round values: finer steps
        if len(ticks) >= 2:
            break
        ticks = _ticks(low, high, count * more, whole)
    return ticks


def _ticks(low: float, high: float, count: int, whole: bool) -> list[float]:
    raw = (high - low) / max(1, count)
    if whole:
        raw = max(1.0, raw)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(0.0 if abs(value) < step * 1e-9 else value)
        value += step
    return ticks


def tick_label(value: float, step: float) -> str:
    """A tick's value with as many decimals as the spacing of the ticks needs."""
    if value == 0:
        return "0"
    if abs(value) >= 10_000:
        for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
            if abs(value) >= size:
                return f"{value / size:.{_decimals(step / size)}f}{suffix}"
    if abs(value) < 1e-3:
        return f"{value:.0e}"
    return f"{value:.{_decimals(step)}f}"


def _decimals(step: float) -> int:
    if step <= 0 or not math.isfinite(step):
        return 2
    return max(0, min(6, -math.floor(math.log10(step) + 1e-9)))


def time_label(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        minutes, secs = divmod(seconds, 60)
        return f"{minutes}m" if not secs else f"{minutes}m{secs:02d}"
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h" if not rest // 60 else f"{hours}h{rest // 60:02d}"


def value_label(value: float | None) -> str:
    """A value as the legend shows it: four significant digits."""
    if value is None or not math.isfinite(value):
        return "-" if value is None else str(value)
    if abs(value) >= 10_000 or (value and abs(value) < 1e-3):
        return f"{value:.3e}" if not float(value).is_integer() else f"{int(value):,}"
    return f"{value:.4g}"


def value_at(series: ChartSeries, x: float) -> tuple[float, float] | None:
    """(x, y) of the point nearest to `x`."""
    if not series.xs:
        return None
    index = min(range(len(series.xs)), key=lambda i: abs(series.xs[i] - x))
    return series.xs[index], series.ys[index]


def best_index(series: ChartSeries) -> int | None:
    finite = [(v, i) for i, v in enumerate(series.ys) if math.isfinite(v)]
    if not finite:
        return None
    return (max(finite) if series.mode == "max" else min(finite, key=lambda p: (p[0], -p[1])))[1]


class _Canvas:
    """Dots in a grid of cells; each cell remembers the colour that drew in it last."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.bits = [[0] * width for _ in range(height)]
        self.colour: list[list[str]] = [[""] * width for _ in range(height)]
        self.marks: dict[tuple[int, int], str] = {}

    def dot(self, x: int, y: int, style: str) -> None:
        """Dot (x, y), y counted from the top, in dots."""
        if 0 <= x < self.width * 2 and 0 <= y < self.height * 4:
            row, col = y // 4, x // 2
            self.bits[row][col] |= _DOTS[x % 2][y % 4]
            self.colour[row][col] = style

    def line(self, x0: int, y0: int, x1: int, y1: int, style: str) -> None:
        steps = max(abs(x1 - x0), abs(y1 - y0), 1)
        for i in range(steps + 1):
            self.dot(x0 + round((x1 - x0) * i / steps), y0 + round((y1 - y0) * i / steps),
                     style)


def render_chart(series: Sequence[ChartSeries], width: int, height: int,
                 options: ChartOptions | None = None) -> Text:
    """The series as a chart exactly `height` lines of at most `width` cells.

    Lines: the legend (when asked, and the series have labels), the plot with its y
    ticks, the x ticks with the axis' name. A chart without a finite point says so.
    """
    opts = options or ChartOptions()
    out = Text(no_wrap=True, overflow="crop", end="")
    if width < 8 or height < 1:
        return out
    shown = [_prepared(s, opts) for s in series]
    points = [(x, y) for s in shown for x, y in zip(s.xs, s.ys, strict=True)
              if math.isfinite(y)]
    lines: list[Text] = []
    legend = opts.legend and bool(series) and height >= 4
    if opts.title and legend and height < 10:  # short of lines: the title leads the legend
        line = Text(opts.title + "  ", style="bold", no_wrap=True, overflow="ellipsis")
        line.append_text(_legend(series, shown, opts, width))
        line.truncate(width, overflow="ellipsis")
        lines.append(line)
    else:
        if opts.title:
            title = Text(opts.title, style="bold", no_wrap=True, overflow="ellipsis")
            title.truncate(width, overflow="ellipsis")
            lines.append(title)
        if legend:
            lines.append(_legend(series, shown, opts, width))
    rows = height - len(lines) - 1
    if not points or rows < 1:
        note = "no finite values to draw" if series else "nothing logged yet"
        lines.append(Text(note if series or not opts.title else note, style="dim"))
        while len(lines) < height:
            lines.append(Text(""))
        return _joined(out, lines[:height])
    lows = min(y for _, y in points)
    highs = max(y for _, y in points)
    if highs == lows:
        pad = abs(highs) * 0.1 or 0.5
        lows, highs = lows - pad, highs + pad
    if opts.log_y:
        y_ticks, labels = _log_ticks(lows, highs, max(1, rows // 3) if rows >= 3 else 1)
    else:
        y_ticks = nice_ticks(lows, highs, max(1, rows // 3)) if rows >= 3 else [highs]
        y_step = y_ticks[1] - y_ticks[0] if len(y_ticks) > 1 else (highs - lows)
        labels = [tick_label(t, y_step) for t in y_ticks]
    gutter = max((len(lbl) for lbl in labels), default=1)
    plot_width = max(1, width - gutter - 1)
    if not opts.x_is_time and all(float(x).is_integer() for x, _ in points):
        opts = replace(opts, whole_x=True)
    x_low = min(x for x, _ in points)
    x_high = max(x for x, _ in points)
    if x_high == x_low:
        x_low, x_high = x_low - 1, x_high + 1
    canvas = _Canvas(plot_width, rows)
    dots_x, dots_y = plot_width * 2 - 1, rows * 4 - 1

    def to_dot(x: float, y: float) -> tuple[int, int]:
        return (round((x - x_low) / (x_high - x_low) * dots_x),
                round((highs - y) / (highs - lows) * dots_y))

    for index, (raw, drawn) in enumerate(zip(series, shown, strict=True)):
        colour = COLORS[index % len(COLORS)]
        if opts.smoothing > 0 and len(series) == 1:  # the values as logged, faint
            _draw(canvas, _prepared(raw, ChartOptions(log_y=opts.log_y)), to_dot,
                  f"dim {colour}")
        _draw(canvas, drawn, to_dot, colour)
        best = best_index(_prepared(raw, ChartOptions(log_y=opts.log_y)))
        if best is not None and math.isfinite(drawn.ys[best]):
            x, y = to_dot(drawn.xs[best], drawn.ys[best])
            canvas.marks[(y // 4, x // 2)] = f"bold {colour}"
    cursor_col = None
    if opts.cursor is not None and x_low <= opts.cursor <= x_high:
        cursor_col = to_dot(opts.cursor, lows)[0] // 2
    tick_rows: dict[int, str] = {}
    for tick, label in zip(y_ticks, labels, strict=True):
        tick_rows.setdefault(min(rows - 1, max(0, to_dot(x_low, tick)[1] // 4)), label)
    for row in range(rows):
        line = Text(no_wrap=True, overflow="crop")
        label = tick_rows.get(row, "")
        line.append(label.rjust(gutter) + ("┤" if label else "│"), style="dim")
        # Cells of one style are appended together: a chart is redrawn on every new
        # value, and one span per cell is most of its cost.
        run: list[str] = []
        run_style = ""
        bits, colours = canvas.bits[row], canvas.colour[row]
        for col in range(plot_width):
            mark = canvas.marks.get((row, col))
            style = colours[col]
            if mark:
                char, style = BEST_MARK, mark
            elif bits[col]:
                char = chr(_BRAILLE + bits[col])
            else:
                char = "│" if col == cursor_col else " "
                style = "dim" if col == cursor_col else ""
            if col == cursor_col and char != "│":
                style = f"{style} on grey30".strip()
            if style != run_style and run:
                line.append("".join(run), style=run_style or None)
                run = []
            run.append(char)
            run_style = style
        if run:
            line.append("".join(run), style=run_style or None)
        lines.append(line)
    lines.append(_x_axis(x_low, x_high, plot_width, gutter, opts))
    return _joined(out, lines[:height])


def _prepared(series: ChartSeries, opts: ChartOptions) -> ChartSeries:
    ys: Sequence[float] = series.ys
    if opts.log_y:
        ys = [math.log10(y) if math.isfinite(y) and y > 0 else math.nan for y in ys]
    if opts.smoothing > 0:
        ys = ema(ys, opts.smoothing)
    return ChartSeries(series.label, series.xs, tuple(ys), series.mode)


def _draw(canvas: _Canvas, series: ChartSeries,
          place: Callable[[float, float], tuple[int, int]], style: str) -> None:
    last: tuple[int, int] | None = None
    for x, y in zip(series.xs, series.ys, strict=True):
        if not math.isfinite(y):
            last = None  # a gap, not a line through the missing value
            continue
        here = place(x, y)
        if last is None:
            canvas.dot(here[0], here[1], style)
        else:
            canvas.line(last[0], last[1], here[0], here[1], style)
        last = here


def _log_ticks(low: float, high: float, count: int) -> tuple[list[float], list[str]]:
    """Ticks of a log scale (`low`, `high` in log10): whole decades over a decade or
    more, else round values (0.65, 0.7, 0.75) placed where their logs fall."""
    if high - low >= 1:
        decades = list(range(math.ceil(low - 1e-9), math.floor(high + 1e-9) + 1))
        every = max(1, math.ceil(len(decades) / max(1, count)))
        chosen = decades[::-1][::every][::-1]  # the top decade always
        return [float(d) for d in chosen], [f"{10.0 ** d:g}" for d in chosen]
    values = [v for v in nice_ticks(10 ** low, 10 ** high, count) if v > 0]
    step = values[1] - values[0] if len(values) > 1 else 10 ** high - 10 ** low
    return [math.log10(v) for v in values], [tick_label(v, step) for v in values]


def _x_axis(low: float, high: float, plot_width: int, gutter: int, opts: ChartOptions) -> Text:
    name = "time" if opts.x_is_time else opts.x_label
    room = plot_width - len(name) - 1
    cells = [" "] * max(0, room)
    ticks = nice_ticks(low, high, max(1, room // 10), whole=opts.whole_x)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    taken = -1
    for tick in ticks:
        label = time_label(tick) if opts.x_is_time else tick_label(tick, step)
        at = round((tick - low) / (high - low) * (plot_width * 2 - 1)) // 2
        start = min(max(0, at - len(label) // 2), room - len(label))
        if start <= taken or start < 0:
            continue
        cells[start:start + len(label)] = label
        taken = start + len(label)
    line = Text(" " * gutter + "└", style="dim", no_wrap=True, overflow="crop")
    line.append("".join(cells), style="dim")
    line.append(" " + name, style="dim italic")
    return line


def _legend(series: Sequence[ChartSeries], shown: Sequence[ChartSeries], opts: ChartOptions,
            width: int) -> Text:
    line = Text(no_wrap=True, overflow="ellipsis")
    if opts.cursor is not None:
        at = time_label(opts.cursor) if opts.x_is_time else value_label(opts.cursor)
        line.append(f"{'time' if opts.x_is_time else opts.x_label} {at}  ", style="reverse")
    for index, raw in enumerate(series):
        colour = COLORS[index % len(COLORS)]
        if index:
            line.append("  ")
        line.append("━ ", style=colour)
        line.append(raw.label or f"series {index + 1}", style=colour)
        point = value_at(raw, opts.cursor) if opts.cursor is not None else (
            (raw.xs[-1], raw.ys[-1]) if raw.xs else None)
        if point is not None:
            line.append(f" {value_label(point[1])}", style="bold")
    if line.cell_len > width:
        line.truncate(width, overflow="ellipsis")
    return line


def _joined(out: Text, lines: list[Text]) -> Text:
    for index, line in enumerate(lines):
        if index:
            out.append("\n")
        out.append_text(line)
    return out
