"""Numbers and durations as tables print them."""

from __future__ import annotations

import math
from typing import Any


def format_value(value: Any, kind: str = "") -> str:
    if value is None:
        return "-" if kind != "param" else ""
    if kind == "duration":
        return format_duration(value)
    if type(value) is float:  # the common case first: listings format tens of thousands
        if not math.isfinite(value):
            return str(value)
        if value.is_integer() and abs(value) >= 10000:
            return f"{int(value):,}"
        return f"{value:.4g}"
    if type(value) is int:
        return f"{value:,}" if abs(value) >= 10000 else str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):  # a subclass (an IntEnum, numpy's float64)
        return format_value(int(value) if isinstance(value, int) else float(value), kind)
    return str(value)


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def plural(count: int, word: str) -> str:
    """`1 run`, `2 runs`, `10,000 runs` (`word` takes an s)."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"
