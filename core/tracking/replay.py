"""What earlier attempts of a run logged, so that a requeued run never logs a value twice.

A run requeued in place redoes the work after its last checkpoint, and an epoch
whose values were logged before the checkpoint could be written is logged again.
As in other trackers that resume runs, steps only move forward: a metric logged
at a step no later than where earlier attempts left that metric is a replay and
is dropped (the values already there stay). A script without checkpoints that
starts over therefore adds to its curves only once it passes where it stopped.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from dltui.tracking.stream import RECORD_KEYS, MetricTail


class EarlierAttempts:
    """The last step of each metric in a run's metrics file when this attempt began."""

    def __init__(self, metrics_file: Path | None) -> None:
        """Read `metrics_file` before this attempt appends to it (None: a process that
        writes no metrics)."""
        self.last_step: dict[str, float] = {}
        if metrics_file is None:
            return
        try:
            if os.path.getsize(metrics_file) == 0:
                return
        except OSError:
            return  # a first attempt: nothing logged yet
        for record in MetricTail(metrics_file).every_record():
            step = record.get("step")
            if not isinstance(step, (int, float)):
                continue
            for key in record.keys() - RECORD_KEYS:
                if not key.startswith("_"):  # progress, not a metric
                    self.last_step[key] = max(step, self.last_step.get(key, -math.inf))
        _end_torn_line(metrics_file)

    def new_values(self, step: float, values: dict[str, Any]) -> dict[str, Any]:
        """The values that are not replays of what was logged before (`values` itself
        when this is a run's first attempt)."""
        if not self.last_step:
            return values
        return {k: v for k, v in values.items()
                if k.startswith("_") or step > self.last_step.get(k, -math.inf)}


def _end_torn_line(metrics_file: Path) -> None:
    """A writer killed in the middle of a line leaves it without its newline: end it,
    so that this attempt's first record does not run into it."""
    with open(metrics_file, "rb+") as stream:
        stream.seek(-1, os.SEEK_END)
        if stream.read(1) != b"\n":
            stream.write(b"\n")
