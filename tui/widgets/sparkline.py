"""Curves drawn with block characters: pure functions from values to strings.

The input may be any length and hold NaN or inf: both functions downsample to
the width they are given (bucket means of the finite values), so a curve never
costs more than its width and never breaks on a diverged loss.
"""

from __future__ import annotations

from collections.abc import Sequence

from dltui.tracking.stream import downsample

BLOCKS = " ▁▂▃▄▅▆▇█"


def _levels(values: Sequence[float], width: int, steps: int) -> list[int]:
    """Each point's height in 0..steps (0 only for an empty curve)."""
    points = downsample(list(values), width)
    if not points:
        return []
    low, high = min(points), max(points)
    if high == low:
        return [steps // 2 or 1] * len(points)
    scale = (steps - 1) / (high - low)
    return [1 + round((v - low) * scale) for v in points]


def sparkline(values: Sequence[float], width: int) -> str:
    """A one-line curve at most `width` characters wide; "" when nothing is finite."""
    if width <= 0:
        return ""
    return "".join(BLOCKS[level] for level in _levels(values, width, 8))


def block_chart(values: Sequence[float], width: int, height: int) -> list[str]:
    """A curve `height` lines tall (top line first), each at most `width` characters;
    a curve of fewer points than `width` is widened, each point an equal band."""
    if width <= 0 or height <= 0:
        return []
    levels = _levels(values, width, 8 * height)
    if levels and len(levels) < width:
        repeat = width // len(levels)
        levels = [level for level in levels for _ in range(repeat)]
    rows = []
    for row in range(height - 1, -1, -1):
        base = row * 8
        rows.append("".join(BLOCKS[max(0, min(8, level - base))] for level in levels))
    return rows
