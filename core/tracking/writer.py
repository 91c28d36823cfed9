"""The one writer of a run's metrics stream (metrics.jsonl).

The tracking API, the stdout parser of the run wrapper and the framework
integrations all write through `MetricsWriter`, so the record format, the
replay filter of a requeued run and the progress key live here alone (the
reader is `stream.py`). A record costs the writer one JSON line and a flush:
its TensorBoard scalars are written by the stream's follower (`follower.py`),
in the run wrapper or on a thread of a script started by hand.
"""

from __future__ import annotations

import json
import time
from typing import Any, TextIO

from dltui.store import rundir as rd
from dltui.tracking.replay import EarlierAttempts
from dltui.tracking.stream import TOTAL_KEY


class MetricsWriter:
    """Appends records `{"step", "time", name: value..., "_total"?}` to one run's stream.

    Every record is flushed at once: on disk, and readable by any process, when
    `log()` returns; a kill right after loses nothing.
    """

    def __init__(self, run_dir: rd.RunDir, *, replays: bool = True) -> None:
        """`replays`: drop values an earlier attempt of this run logged (False for a
        process that writes nothing, such as a torchrun rank other than 0)."""
        self.dir = run_dir
        # Read before this attempt appends.
        self._earlier = EarlierAttempts(run_dir.metrics_file if replays else None)
        self._file: TextIO | None = None
        self.records = 0

    def _stream(self) -> TextIO:
        if self._file is None:
            self._file = open(self.dir.metrics_file, "a", encoding="utf-8")  # noqa: SIM115
        return self._file

    def log(self, step: float, values: dict[str, Any], *, total: int | float | None = None,
            when: float | None = None) -> dict[str, Any]:
        """Record `values` at `step` (with the run's `total` steps, for the ETA, when
        given); returns the values written, without replays of an earlier attempt."""
        when = time.time() if when is None else when
        clean = self._earlier.new_values(step, values) if values else values
        if not clean and total is None:
            return clean
        record: dict[str, Any] = {"step": step, "time": round(when, 3), **clean}
        if total is not None:
            record[TOTAL_KEY] = total
        stream = self._file or self._stream()
        stream.write(_encode(record) + "\n")
        stream.flush()
        self.records += 1
        return clean

    def progress(self, done: int | float, total: int | float) -> None:
        """Say how far along the run is: `done` of `total` steps or epochs."""
        self.log(done, {}, total=total)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


_encode = json.JSONEncoder(allow_nan=True).encode
