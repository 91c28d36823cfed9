"""Where the integrations' values go: the run of this process (`dltui.init()`).

Under `dltui run` that is the launched run, and its `tracked` marker tells the
wrapper to stop reading metrics from the output; in a script started by hand it
is a run of its own, as for any script that calls `dltui.init()`.
"""

from __future__ import annotations

import math
from typing import Any

# Set once a framework's own loop (a Trainer, Keras' fit) is watched: a SummaryWriter
# it writes through then records nothing twice.
framework_loops: set[str] = set()


def current_run() -> Any:
    from dltui.tracking.run import init

    return init()


def numbers(values: dict[str, Any]) -> dict[str, float]:
    """The numeric values of a framework's log (tensors and numpy scalars included)."""
    found = {}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(key, str):
            continue
        if not isinstance(value, (int, float)):
            item = getattr(value, "item", None)
            if not callable(item) or getattr(value, "ndim", 0) not in (0, None):
                continue
            try:
                value = item()
            except (ValueError, RuntimeError, TypeError):
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
        found[key] = float(value)
    return found


def finite_total(value: Any) -> int | None:
    """A step count usable for progress, or None (Lightning says `inf` without a limit)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not math.isfinite(value) or value <= 0:
        return None
    return int(value)
