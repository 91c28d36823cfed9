"""The tracking API for training code: `run = dltui.init(); run.log({...}, step=...)`.

Under `dltui run`, `init()` picks up the run directory the launcher made (the
`DLTUI_RUN_DIR` variable). A script started by hand gets a run directory of
its own under `./runs/<script name>/`, so it shows in `dltui ps` all the same.

Every `log()` appends one line to metrics.jsonl and flushes it at once (a
dashboard sees it within its next poll). TensorBoard's event files are written
from that stream by its follower: in the run wrapper under `dltui run`, on a
thread of this process for a script started by hand; either way within a
second or two, and completely by the run's end.
"""

from __future__ import annotations

import atexit
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dltui.procs import hostname, process_start_ticks
from dltui.store import rundir as rd
from dltui.store.active import mark_active
from dltui.store.names import check_experiment_name, new_run_id
from dltui.tracking.follower import IMAGE_KEY, NO_EVENTS_FILE, TEXT_KEY, StreamFollower
from dltui.tracking.writer import MetricsWriter

RUN_DIR_ENV = "DLTUI_RUN_DIR"
RUNS_DIR_ENV = "DLTUI_RUNS_DIR"
# Set by the run wrapper, which follows the run's stream: this process then writes only
# the stream (a run directory named by hand, without the wrapper, is followed here).
FOLLOWED_ENV = "DLTUI_STREAM_FOLLOWED"
IMAGES_FOLDER = ".images"  # under tb/: images logged with save=False


class Summary(dict[str, Any]):
    """`run.summary["test_acc"] = 0.91`: final figures of a run, saved on every change."""

    def __init__(self, path: Path | None, initial: Mapping[str, Any]) -> None:
        super().__init__(initial)
        self._path = path  # None: kept in memory only (a rank other than 0)

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self.save()

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self.save()

    def save(self) -> None:
        if self._path is not None:
            rd.write_json_atomic(self._path, dict(self))


class Run:
    """A run as seen from inside the training process."""

    writes_metrics = True

    def __init__(self, run_dir: rd.RunDir, *, owns_status: bool, tensorboard: bool = True,
                 followed: bool = False) -> None:
        """`followed`: the run wrapper follows this run's stream (under `dltui run`);
        otherwise a thread of this process does."""
        self.dir = run_dir
        spec = run_dir.spec()
        self.params: dict[str, Any] = dict(spec.params) if spec else {}
        self.experiment = spec.experiment if spec else run_dir.experiment
        status = run_dir.status()
        self.needs: dict[str, Path] = {k: Path(v) for k, v in status.needs.items()}
        self.summary = Summary(run_dir.summary_file, run_dir.summary())
        # Made before this attempt appends; other torchrun ranks write nothing.
        self._writer = MetricsWriter(run_dir, replays=self.writes_metrics)
        self._follower = (StreamFollower(run_dir, tensorboard=tensorboard).start()
                          if self.writes_metrics and not followed else None)
        if followed and not tensorboard:  # tell the wrapper, which writes the event files
            run_dir.tb_dir.mkdir(exist_ok=True)
            (run_dir.tb_dir / NO_EVENTS_FILE).touch()
        self._owns_status = owns_status
        self._tensorboard = tensorboard
        self._finished = False
        self._last_step = -1

    @property
    def path(self) -> Path:
        return self.dir.path

    @property
    def artifacts_dir(self) -> Path:
        self.dir.artifacts_dir.mkdir(exist_ok=True)
        return self.dir.artifacts_dir

    def _step(self, step: int | None) -> int:
        self._last_step = self._last_step + 1 if step is None else int(step)
        return self._last_step

    def log(self, values: Mapping[str, Any], step: int | None = None) -> None:
        """Record metric values at `step` (the next step if None)."""
        at = self._step(step)
        plain = dict(values)
        for key, value in plain.items():
            if type(key) is not str or type(value) not in _PLAIN:
                plain = {str(k): _plain(v) for k, v in values.items()}
                break
        if plain:
            self._writer.log(at, plain)

    def progress(self, done: int, total: int) -> None:
        """Say how far along the run is (`done` of `total` steps or epochs), for the ETA."""
        self._writer.progress(done, total)

    def log_image(self, name: str, pixels: Any, step: int | None = None,
                  save: bool = True) -> Path | None:
        """An H x W x C uint8 image to TensorBoard and, with `save`, to artifacts/NAME.png."""
        from dltui.tracking.png import encode_png

        if not save and not self._tensorboard:
            return None
        shape = tuple(pixels.shape)
        png = encode_png(pixels)
        at = max(self._last_step if step is None else int(step), 0)
        if save:
            target = self.artifacts_dir / f"{_file_name(name)}.png"
        else:  # kept for TensorBoard alone, beside its event files
            target = self.dir.tb_dir / IMAGES_FOLDER / f"{_file_name(name)}-{at}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(png)
        if self._tensorboard:
            self._writer.log(at, {IMAGE_KEY: {
                "tag": name, "file": str(target.relative_to(self.dir.path)), "height": shape[0],
                "width": shape[1], "channels": 1 if len(shape) == 2 else shape[2]}})
        return target if save else None

    def log_text(self, name: str, text: str, step: int | None = None) -> None:
        """Text (a caption, a table in Markdown) to TensorBoard's text tab."""
        at = max(self._last_step if step is None else int(step), 0)
        if self._tensorboard:
            self._writer.log(at, {TEXT_KEY: {"tag": name, "text": text}})

    def save_artifact(self, name: str, data: str | bytes) -> Path:
        target = self.artifacts_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            target.write_bytes(data)
        else:
            target.write_text(data, encoding="utf-8")
        return target

    def finish(self, exit_code: int = 0) -> None:
        """Flush everything; a run this process owns is marked finished."""
        if self._finished:
            return
        self._finished = True
        self._writer.close()
        summary = self._follower.finish() if self._follower is not None else {}
        if self._owns_status:
            self.dir.end(rd.SUCCEEDED if exit_code == 0 else rd.FAILED, exit_code=exit_code,
                         **summary)

    def __enter__(self) -> Run:
        return self

    def __exit__(self, kind: Any, *_: Any) -> None:
        self.finish(0 if kind is None else 1)


class OtherRankRun(Run):
    """A rank other than 0 of a torchrun run: the run's params and needs, no writes, so
    that what every rank logs is recorded once (by rank 0)."""

    writes_metrics = False

    def __init__(self, run_dir: rd.RunDir) -> None:
        super().__init__(run_dir, owns_status=False, tensorboard=False)
        self.summary = Summary(None, self.summary)

    def log(self, values: Mapping[str, Any], step: int | None = None) -> None:
        self._step(step)

    def progress(self, done: int, total: int) -> None:
        pass

    def log_image(self, name: str, pixels: Any, step: int | None = None,
                  save: bool = True) -> Path | None:
        return None

    def save_artifact(self, name: str, data: str | bytes) -> Path:
        return self.dir.artifacts_dir / name  # where rank 0 writes it


_PLAIN = frozenset({float, int, str, bool, type(None)})


def _plain(value: Any) -> Any:
    """Python numbers from tensors and numpy scalars; anything else as text."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return item()
        except (ValueError, RuntimeError):
            pass
    return str(value)


def _file_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip("._") or "image"


_current: Run | None = None


def init(*, params: Mapping[str, Any] | None = None, experiment: str | None = None,
         runs_dir: str | Path | None = None, tensorboard: bool = True) -> Run:
    """The run this process reports to; made on first call, the same one after."""
    global _current
    if _current is not None:
        return _current
    launched = os.environ.get(RUN_DIR_ENV)
    run: Run
    if launched and os.environ.get("RANK", "0") != "0":  # torchrun: rank 0 alone writes
        run = OtherRankRun(rd.RunDir(launched))
    elif launched:
        run = Run(rd.RunDir(launched), owns_status=False, tensorboard=tensorboard,
                  followed=os.environ.get(FOLLOWED_ENV) == "1")
        # Tell the wrapper that metrics come through the API, not stdout.
        (run.dir.path / rd.TRACKED_FILE).touch()
    else:
        run = _start_by_hand(params or {}, experiment, runs_dir, tensorboard)
    if params:
        # Defaults from the script, overridden by what the launcher resolved.
        run.params = {**dict(params), **run.params}
    _current = run
    if not launched:
        sys.excepthook = _note_uncaught
        sys.exit = _note_exit  # type: ignore[assignment]
    atexit.register(_finish_at_exit)
    return run


def _start_by_hand(params: Mapping[str, Any], experiment: str | None,
                   runs_dir: str | Path | None, tensorboard: bool) -> Run:
    root = Path(runs_dir or os.environ.get(RUNS_DIR_ENV) or "runs").resolve()
    name = check_experiment_name(experiment or Path(sys.argv[0] or "script").stem or "script")
    spec = rd.RunSpec(run_id=new_run_id(), experiment=name, argv=[sys.executable, *sys.argv],
                      params=dict(params), cwd=os.getcwd())
    pid = os.getpid()
    now = time.time()
    run_dir = rd.create_run_dir(root, spec, state=rd.RUNNING, pid=pid,
                                pid_start=process_start_ticks(pid), host=hostname(),
                                queued_at=now, started_at=now, launched_by="hand")
    mark_active(root, run_dir.path)
    (run_dir.path / rd.TRACKED_FILE).touch()
    return Run(run_dir, owns_status=True, tensorboard=tensorboard)


# How a hand-started script ended, for its final status: atexit is not told.
_failure: list[object] = []
_previous_excepthook = sys.excepthook
_previous_exit = sys.exit


def _note_uncaught(kind: Any, value: Any, traceback: Any) -> None:
    _failure.append(value)
    _previous_excepthook(kind, value, traceback)


def _note_exit(code: Any = None) -> None:
    if code not in (None, 0):
        _failure.append(code)
    _previous_exit(code)


def _finish_at_exit() -> None:
    if _current is not None:
        _current.finish(1 if _failure else 0)
