"""The look of every figure dltui draws, set in one place: curves and bar charts as PNG bytes.

matplotlib is imported inside the functions (the dashboard never pays for it
until it draws) and only through its object API on the Agg canvas: no pyplot
state, no display. Each function returns the PNG and the points it plotted,
read back from the axes, so that a caller can check or export exactly what
the figure shows.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

DPI = 120
SIZE = (6.4, 4.0)  # inches: 768 x 480 pixels at DPI
# Tableau's ten colours: distinct, colour-blind friendlier than the old default.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")
LINESTYLES = ("-", "--", "-.", ":")
LEGEND_INSIDE_MAX = 6  # more curves than this and the legend moves outside, to the right
MARKERS_MAX_POINTS = 40  # fewer points than this get a marker each, so single points show
STYLE: dict[str, Any] = {
    "font.size": 10,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "axes.grid": True,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "grid.alpha": 0.35,
    "grid.linestyle": "-",
    "legend.fontsize": 9,
    "legend.framealpha": 0.85,
    "lines.linewidth": 1.8,
    "lines.markersize": 4.5,
    "savefig.dpi": DPI,
    "savefig.facecolor": "white",
    "figure.facecolor": "white",
}


@dataclass
class Curve:
    """One line of a chart: a run's values of one metric at its steps."""

    label: str
    steps: Sequence[float]
    values: Sequence[float]
    color: int = 0  # index into PALETTE, the same for one run in every figure
    band: Sequence[float] | None = None  # a shaded ± band (a std over seeds) per step


@dataclass
class Bar:
    label: str
    value: float
    color: int = 0


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _linestyle(index: int) -> str:
    # Past ten runs colours repeat: the dash pattern keeps the lines apart.
    return LINESTYLES[(index // len(PALETTE)) % len(LINESTYLES)]


def _matplotlib() -> Any:
    import sys

    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")  # never a window, even with a DISPLAY
    return matplotlib


def _png(fig: Any, *, tight: bool) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight" if tight else None,
                pad_inches=0.15, metadata={"Software": "dltui"})
    return buffer.getvalue()


def _finite(values: Sequence[float]) -> list[float]:
    return [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]


def wants_log_scale(curves: Sequence[Curve]) -> bool:
    """A loss that falls over orders of magnitude reads better on a log axis."""
    values = [v for c in curves for v in _finite(c.values)]
    return bool(values) and min(values) > 0 and max(values) / min(values) >= 1000


def line_chart(curves: Sequence[Curve], *, title: str, xlabel: str, ylabel: str,
               integer_x: bool = False, log_y: bool | None = None
               ) -> tuple[bytes, list[dict[str, Any]]]:
    """A PNG with one line per curve, and the points plotted: [{label, x, y}]."""
    matplotlib = _matplotlib()
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=SIZE, dpi=DPI)
        ax = fig.add_subplot()
        for index, curve in enumerate(curves):
            marker = "o" if len(curve.values) <= MARKERS_MAX_POINTS else None
            ax.plot(list(curve.steps), list(curve.values), label=curve.label,
                    color=colour(curve.color), linestyle=_linestyle(curve.color),
                    marker=marker, zorder=3 + index)
            if curve.band is not None:
                ax.fill_between(list(curve.steps),
                                [v - b for v, b in zip(curve.values, curve.band, strict=True)],
                                [v + b for v, b in zip(curve.values, curve.band, strict=True)],
                                color=colour(curve.color), alpha=0.18, linewidth=0,
                                zorder=2)
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if integer_x:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if log_y if log_y is not None else wants_log_scale(curves):
            ax.set_yscale("log")
        outside = len(curves) > LEGEND_INSIDE_MAX
        if curves:
            if outside:
                ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
            else:
                ax.legend(loc="best")
        fig.tight_layout()
        plotted = [{"label": line.get_label(), "x": _plain(line.get_xdata()),
                    "y": _plain(line.get_ydata())} for line in ax.get_lines()]
        return _png(fig, tight=outside), plotted


def bar_chart(bars: Sequence[Bar], *, title: str, ylabel: str
              ) -> tuple[bytes, list[dict[str, Any]]]:
    """A PNG with one labelled bar per value, and the bars drawn: [{label, y}]."""
    matplotlib = _matplotlib()
    from matplotlib.figure import Figure

    with matplotlib.rc_context({**STYLE, "axes.grid.axis": "y"}):
        width = max(SIZE[0], 1.1 * len(bars) + 1.5)
        fig = Figure(figsize=(width, SIZE[1]), dpi=DPI)
        ax = fig.add_subplot()
        positions = list(range(len(bars)))
        drawn = ax.bar(positions, [b.value for b in bars],
                       color=[colour(b.color) for b in bars], width=0.6, zorder=3)
        ax.bar_label(drawn, labels=[f"{b.value:.4g}" for b in bars], padding=2, fontsize=9)
        ax.set_xticks(positions, [b.label for b in bars],
                      rotation=20 if len(bars) > 4 else 0,
                      ha="right" if len(bars) > 4 else "center")
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        ax.margins(y=0.12)  # room for the value above the tallest bar
        fig.tight_layout()
        plotted = [{"label": b.label, "y": float(patch.get_height())}
                   for b, patch in zip(bars, drawn.patches, strict=True)]
        return _png(fig, tight=False), plotted


def _plain(data: Any) -> list[float | None]:
    """Plotted coordinates as JSON-safe floats (a gap, NaN, as None)."""
    out: list[float | None] = []
    for value in list(data):
        number = float(value)
        out.append(number if math.isfinite(number) else None)
    return out
