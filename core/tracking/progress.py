"""How far along a run is, and when it will end: one rule for the CLI and the dashboard."""

from __future__ import annotations

import time


def eta_seconds(*, started: float | None, step: float | None, total: float | None,
                last_time: float | None, now: float | None = None) -> float | None:
    """Seconds until `total` steps at the pace so far, less the time since the last record;
    None before the first step or once `total` is reached.

    Epochs are counted from 1 by most loops and from 0 by some: `step` counts what is done."""
    if started is None or step is None or total is None or last_time is None:
        return None
    if not 0 < step < total:
        return None
    per_step = (last_time - started) / step
    return max(0.0, per_step * (total - step) - ((now or time.time()) - last_time))
