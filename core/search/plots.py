"""A study's pictures as plain text: the best-so-far curve and a params-vs-metric
scatter, pure functions of their points (the CLI prints them, the dashboard shows them)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from dltui.views.numbers import format_value


def _grid(points: Sequence[tuple[float, float]], *, width: int, height: int, mark: str,
          log_x: bool = False, join: bool = False) -> str:
    xs = [math.log10(x) if log_x else x for x, _ in points]
    ys = [y for _, y in points]
    x_low, x_high = min(xs), max(xs)
    y_low, y_high = min(ys), max(ys)
    cells = [[" "] * width for _ in range(height)]

    def col(x: float) -> int:
        return 0 if x_high == x_low else round((x - x_low) / (x_high - x_low) * (width - 1))

    def row(y: float) -> int:
        return height - 1 if y_high == y_low else round(
            (y_high - y) / (y_high - y_low) * (height - 1))

    placed = sorted(zip(xs, ys, strict=True))
    if join:  # a step curve: the best so far holds until the next improvement
        for (x0, y0), (x1, _) in zip(placed, placed[1:], strict=False):
            for c in range(col(x0), col(x1)):
                cells[row(y0)][c] = "─"
    for x, y in placed:
        cells[row(y)][col(x)] = mark
    top, bottom = format_value(y_high), format_value(y_low)
    margin = max(len(top), len(bottom))
    lines = []
    for index, line in enumerate(cells):
        label = top if index == 0 else bottom if index == height - 1 else ""
        lines.append(f"{label.rjust(margin)} │{''.join(line)}".rstrip())
    left = format_value(10 ** x_low if log_x else x_low)
    right = format_value(10 ** x_high if log_x else x_high)
    lines.append(" " * margin + " └" + "─" * width)
    lines.append(" " * (margin + 2) + left + right.rjust(max(1, width - len(left))))
    return "\n".join(lines)


def best_curve(points: Sequence[tuple[float, float]], *, width: int = 60,
               height: int = 8) -> str:
    """The best value so far (y) after each trial (x), as a step curve."""
    if not points:
        return "(no finished trial yet)"
    return _grid(points, width=width, height=height, mark="●", join=True)


def scatter(points: Sequence[tuple[float, float]], *, width: int = 60, height: int = 8,
            log_x: bool = False) -> str:
    """One mark per trial: a param's value (x) against the trial's metric (y)."""
    if not points:
        return "(no trial with a value yet)"
    return _grid(points, width=width, height=height, mark="•", log_x=log_x)
