"""A run's curves cut down to what a screen can draw (the points come from
`dltui.tracking.stream.MetricHistory`, with their steps and wall times)."""

from __future__ import annotations

import math

from dltui.tracking.stream import MetricSeries

# Points kept per curve: enough for a chart 200 cells wide (400 braille dots).
CURVE_POINTS = 400


def thin(curve: MetricSeries, points: int = CURVE_POINTS
         ) -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
    """(steps, values, times) of about `points` points that keep the curve's shape:
    bucket means of the finite values, each at its bucket's last step and time."""
    keep = [i for i, v in enumerate(curve.values) if math.isfinite(v)]
    if len(keep) <= points:
        return (tuple(curve.steps[i] for i in keep), tuple(curve.values[i] for i in keep),
                tuple(curve.times[i] for i in keep))
    size = len(keep) / points
    steps, values, times = [], [], []
    for bucket in range(points):
        lo, hi = int(bucket * size), max(int((bucket + 1) * size), int(bucket * size) + 1)
        part = keep[lo:hi]
        values.append(sum(curve.values[i] for i in part) / len(part))
        steps.append(curve.steps[part[-1]])
        times.append(curve.times[part[-1]])
    return tuple(steps), tuple(values), tuple(times)

