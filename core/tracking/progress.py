"""How far along a run is and when it should end: one rule for the CLI and the dashboard."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from dltui.tracking.stream import is_number


class ReadProgress(Protocol):
    """What a reader of the metrics stream knows of progress (MetricHistory, a chart's)."""

    total: float | None
    last_step: float | None
    last_time: float | None


@dataclass(frozen=True)
class Progress:
    step: float | None
    total: float | None
    eta: float | None  # seconds left; None when it cannot be told


def progress_of_history(history: ReadProgress, *, params: Mapping[str, Any],
                        started: float | None, is_final: bool,
                        now: float | None = None) -> Progress:
    """Step and total from the metrics stream (the run's `epochs` param when the stream
    gives no total) and the ETA: the pace so far over the steps left, less the time
    since the last record. No ETA for a finished run, nor before the first step."""
    total = history.total
    if total is None and is_number(params.get("epochs")):
        total = params["epochs"]
    step = history.last_step
    eta = None
    if (not is_final and started and step is not None and total is not None
            and 0 < step < total):
        now = time.time() if now is None else now
        last = history.last_time or now
        # Epochs are counted from 1 by most loops, from 0 by some: count what is done.
        per_step = (last - started) / step
        eta = max(0.0, per_step * (total - step) - (now - last))
    return Progress(step, total, eta)
