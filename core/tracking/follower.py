"""The follower of a run's metrics stream: TensorBoard scalars and the final summary.

The training process writes only the metrics line (`log()` costs a JSON line and a
flush; an image is a PNG file and a line naming it); this follower, a thread in the
run wrapper (or in a script started by hand), reads the stream as it grows and
writes every number, image and text to the run's TensorBoard event file, and folds
the stream into the run's summary (last and best of each metric, the step reached),
in constant memory whatever the run's length. It keeps in `tb/.converted` how far
the event files go, so a run requeued in place converts the rest once, and a
follower killed before its last pass leaves the next attempt to catch up.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from dltui.store import rundir as rd
from dltui.tracking.stream import (
    MetricTail,
    RunningSummary,
    as_floats,
    is_finite,
    metric_values,
)
from dltui.tracking.tfrecord import EventFile, image_event, scalar_event, text_event

CONVERTED_FILE = ".converted"
# In tb/: no event files of ours wanted: the training code asked for none
# (`dltui.init(tensorboard=False)`), or an imported run's own files stand for its stream.
NO_EVENTS_FILE = ".none"
# Record keys of what is not a metric: `{"_image": {"tag", "file", "height", "width",
# "channels"}}` (the PNG's path relative to the run) and `{"_text": {"tag", "text"}}`.
IMAGE_KEY = "_image"
TEXT_KEY = "_text"
CHUNK_BYTES = 1 << 17  # read a long stream in pieces of this size: memory stays flat
INTERVAL = 1.0  # seconds between passes; TensorBoard itself reloads every 5


class StreamFollower:
    """Follows one run's metrics.jsonl from its start; `stop()` ends with a last pass."""

    def __init__(self, run_dir: rd.RunDir, *, tensorboard: bool = True,
                 interval: float = INTERVAL) -> None:
        self.dir = run_dir
        self.summary = RunningSummary()
        self.interval = interval
        self._tail = MetricTail(run_dir.metrics_file)
        self._events = EventFile(run_dir.tb_dir) if tensorboard else None
        self._converted_file = run_dir.tb_dir / CONVERTED_FILE
        # Up to here the event files of earlier attempts hold the stream already.
        self._converted = _read_offset(self._converted_file, run_dir.metrics_file)
        self._saved = self._converted
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="dltui-stream", daemon=True)
        self._lock = threading.Lock()

    def start(self) -> StreamFollower:
        self._thread.start()
        return self

    def _loop(self) -> None:
        while True:
            self.catch_up()
            if self._stop.wait(self.interval):
                return

    def catch_up(self) -> None:
        """Read and convert everything appended so far."""
        with self._lock:
            if self._events is not None and (self.dir.tb_dir / NO_EVENTS_FILE).exists():
                self._close_events()
            while True:
                before = self._tail.offset
                # What earlier attempts converted is read for the summary alone, in pieces
                # that end where their conversion ended.
                converted = before >= self._converted
                limit = CHUNK_BYTES if converted else min(CHUNK_BYTES, self._converted - before)
                records = self._tail.records(limit)
                if self._tail.offset == before:
                    break
                for record in records:
                    self.summary.add(record)
                    if converted and self._events is not None:
                        self._write(record)
            if self._events is not None:
                try:
                    self._events.flush()
                except OSError:
                    self._close_events()
                    return
                if self._tail.offset > self._saved:
                    self._save_offset(self._tail.offset)

    def _close_events(self) -> None:
        """No more events: at the end, or when writing them failed (a full disk), after
        which the summary goes on alone and a later pass converts what `.converted` does
        not cover."""
        events, self._events = self._events, None
        if events is not None:
            try:
                events.close()
            except OSError:
                pass

    def _write(self, record: dict[str, Any]) -> None:
        step: Any = record.get("step")
        when: Any = record.get("time")
        at = int(step) if is_finite(step) else int(self.summary.last_step or 0)
        wall_time = float(when) if is_finite(when) else 0.0
        events = []
        numbers = as_floats(metric_values(record))
        if numbers:
            events.append(scalar_event(numbers, at, wall_time))
        for key, value in record.items():
            if key == IMAGE_KEY:
                events.extend(self._image(value, at, wall_time))
            elif key == TEXT_KEY and isinstance(value, dict):
                events.append(text_event(str(value.get("tag")), str(value.get("text")), at,
                                         wall_time))
        assert self._events is not None
        try:
            for event in events:
                self._events.write(event)
        except OSError:
            self._close_events()

    def _image(self, value: Any, step: int, wall_time: float) -> list[bytes]:
        """The event of an image the training process saved as a PNG (none when the file
        is gone or the record is not one of ours)."""
        try:
            png = (self.dir.path / value["file"]).read_bytes()
            return [image_event(str(value["tag"]), png, int(value["height"]),
                                int(value["width"]), int(value["channels"]), step, wall_time)]
        except (OSError, KeyError, TypeError, ValueError):
            return []

    def _save_offset(self, offset: int) -> None:
        try:
            rd.write_json_atomic(self._converted_file, {"offset": offset})
            self._saved = offset
        except OSError:
            pass  # a full disk: the next attempt converts again what is not recorded

    def stop(self) -> dict[str, Any]:
        """End the thread after a last pass; the run's summary fields for its status."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.catch_up()
        self._close_events()  # closed: every event is in its file
        return self.status_fields(self.dir.spec())

    def finish(self) -> dict[str, Any]:
        """`stop()`, for the end of a run: a follower that fails says so in the run's log
        and costs the run its figures, never its ending."""
        try:
            return self.stop()
        except Exception as err:  # noqa: BLE001 - any failure here must not lose the status
            try:
                with open(self.dir.log_file, "a", encoding="utf-8") as log:
                    log.write(f"dltui: the metrics stream could not be summed up: {err!r}\n")
            except OSError:
                pass
            return {}

    def status_fields(self, spec: rd.RunSpec | None) -> dict[str, Any]:
        """`metrics`, `last_step` and `total` of the stream read so far."""
        modes = {spec.metric: spec.mode} if spec is not None and spec.metric else {}
        return {"metrics": self.summary.metrics(mode_of=modes),
                "last_step": self.summary.last_step, "total": self.summary.total}


def _read_offset(path: Path, stream: Path) -> int:
    """How far the event files hold `stream` (0 for a stream replaced since)."""
    data = rd.read_json(path, {})
    offset = data.get("offset") if isinstance(data, dict) else None
    try:
        size = stream.stat().st_size
    except OSError:
        size = 0
    return offset if isinstance(offset, int) and 0 <= offset <= size else 0


def catch_up_ended(run_dir: rd.RunDir) -> bool:
    """Bring an ended run's event files up to its stream, where its follower died before
    its last pass (a wrapper killed with its run, a script started by hand and killed);
    True if anything was missing. Nothing follows an ended run, so nothing races this."""
    if (run_dir.tb_dir / NO_EVENTS_FILE).exists():
        return False  # none wanted (or the run's own event files stand for its stream)
    try:
        size = run_dir.metrics_file.stat().st_size
    except OSError:
        return False
    if _read_offset(run_dir.tb_dir / CONVERTED_FILE, run_dir.metrics_file) >= size:
        return False
    try:
        StreamFollower(run_dir).stop()
    except OSError:
        return False  # a read-only runs folder: TensorBoard shows what is there
    return True
