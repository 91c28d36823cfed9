"""One run's directory: the only channel between a training process and the rest.

Layout of `runs/<experiment>/<run-id>/`:

    run.json        what was asked: experiment, params, argv, cwd, git state (written once)
    status.json     where it stands: state, pids, exit code, times (atomic rewrites)
    output.log      the process's stdout and stderr
    metrics.jsonl   append-only, one JSON object a line: {"step": 3, "time": ..., "loss": 0.2}
    summary.json    the training code's `run.summary` (atomic rewrites)
    tb/             TensorBoard event files
    artifacts/      figures, captions, checkpoints
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import MISSING, dataclass, field
from pathlib import Path
from typing import Any

from dltui.store.names import new_run_id

RUN_FILE = "run.json"
STATUS_FILE = "status.json"
LOG_FILE = "output.log"
METRICS_FILE = "metrics.jsonl"
SUMMARY_FILE = "summary.json"
STOP_FILE = "stop-requested"
STATUS_LOCK_FILE = ".status.lock"  # held while status.json is read, changed and replaced
TRACKED_FILE = "tracked"
TB_DIR = "tb"
ARTIFACTS_DIR = "artifacts"
CHECKPOINT_FILE = "checkpoint.pt"  # in artifacts/: what a built-in task resumes from

QUEUED = "queued"
STARTING = "starting"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
KILLED = "killed"
LOST = "lost"
TIMEOUT = "timeout"  # a cluster job stopped at its time limit (resumable: requeue it)
PREEMPTED = "preempted"  # a cluster job stopped for higher-priority work (resumable)
PRUNED = "pruned"  # a search trial stopped for doing worse than the others (resumable)
ACTIVE_STATES = frozenset({QUEUED, STARTING, RUNNING})
FINAL_STATES = frozenset({SUCCEEDED, FAILED, KILLED, LOST, TIMEOUT, PREEMPTED, PRUNED})
REQUEUABLE_STATES = FINAL_STATES - {SUCCEEDED}  # ended without finishing: may go on in place


def write_json_atomic(path: Path, data: Any, *, compact: bool = False) -> None:
    """Replace `path` with `data` so that a reader sees the old or the new file, never half."""
    # Not mkstemp: its files are 0600, and runs are read by other users of a shared machine.
    tmp = str(path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            if compact:
                json.dump(data, out, separators=(",", ":"), default=str)
            else:
                json.dump(data, out, indent=1, sort_keys=True, default=str)
            out.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path, default: Any = None) -> Any:
    """Read a JSON file written by `write_json_atomic`; missing or unreadable gives `default`."""
    try:
        with open(path, encoding="utf-8") as src:
            return json.load(src)
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
        return default


@dataclass
class RunSpec:
    """What was asked for a run; never changes after creation."""

    run_id: str
    experiment: str
    argv: list[str]
    params: dict[str, Any]
    cwd: str
    env: dict[str, str] = field(default_factory=dict)
    gpus: int = 0
    metric: str | None = None
    mode: str = "min"
    group: str | None = None
    tags: list[str] = field(default_factory=list)
    task: str | None = None
    needs: dict[str, str] = field(default_factory=dict)
    backend: str = "local"
    backend_options: dict[str, Any] = field(default_factory=dict)
    git_commit: str | None = None
    git_dirty: bool | None = None
    manifest: str | None = None
    created: float = field(default_factory=time.time)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunSpec:
        """A spec from run.json (or an index entry, which omits default values)."""
        fields = cls.__dataclass_fields__
        # Filled in place rather than through __init__: an index of 10,000 runs makes
        # 10,000 specs, and __init__ costs twice as much.
        spec = cls.__new__(cls)
        values = spec.__dict__
        for name, spec_field in fields.items():
            if name in data:
                values[name] = data[name]
            elif spec_field.default is not MISSING:
                values[name] = spec_field.default
            elif spec_field.default_factory is not MISSING:
                values[name] = spec_field.default_factory()
            else:
                raise ValueError(f"a run spec without {name!r}")
        return spec

    def to_compact_json(self) -> dict[str, Any]:
        """The fields that differ from their defaults (what an index needs to keep)."""
        data = {}
        for name, spec_field in self.__dataclass_fields__.items():
            value = getattr(self, name)
            if spec_field.default is not MISSING and value == spec_field.default:
                continue
            if spec_field.default_factory is not MISSING and value == spec_field.default_factory():
                continue
            data[name] = value
        return data


class RunDir:
    """Paths and small file operations of one run directory."""

    def __init__(self, path: Path | str) -> None:
        self._given = path
        self._path: Path | None = path if isinstance(path, Path) else None

    @property
    def path(self) -> Path:
        # Made on first use: listing 10,000 runs should not pay for 10,000 Paths.
        if self._path is None:
            self._path = Path(self._given)
        return self._path

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def experiment(self) -> str:
        return self.path.parent.name

    @property
    def run_file(self) -> Path:
        return self.path / RUN_FILE

    @property
    def status_file(self) -> Path:
        return self.path / STATUS_FILE

    @property
    def log_file(self) -> Path:
        return self.path / LOG_FILE

    @property
    def metrics_file(self) -> Path:
        return self.path / METRICS_FILE

    @property
    def summary_file(self) -> Path:
        return self.path / SUMMARY_FILE

    @property
    def tb_dir(self) -> Path:
        return self.path / TB_DIR

    @property
    def artifacts_dir(self) -> Path:
        return self.path / ARTIFACTS_DIR

    @property
    def stop_file(self) -> Path:
        return self.path / STOP_FILE

    def spec(self) -> RunSpec | None:
        data = read_json(self.run_file)
        return RunSpec.from_json(data) if isinstance(data, dict) else None

    def status(self) -> dict[str, Any]:
        data = read_json(self.status_file)
        return data if isinstance(data, dict) else {}

    @contextmanager
    def _status_locked(self) -> Iterator[None]:
        # Several processes change one status (the wrapper, the queue's supervisor, a
        # Slurm submitter, `dltui stop`): without the lock, a read-change-replace of one
        # can undo another's (a "running" overwritten by a late "queued").
        fd = os.open(self.path / STATUS_LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def write_status(self, **changes: Any) -> dict[str, Any]:
        """Merge `changes` into status.json atomically and return the new status."""
        status = self._merge_status(None, changes)
        assert status is not None
        return status

    def change_status_if(self, states: Collection[str], **changes: Any) -> dict[str, Any] | None:
        """Merge `changes` only while the run's state is one of `states` (checked and
        written under the same lock); None, with nothing written, when it is not."""
        return self._merge_status(states, changes)

    def _merge_status(self, states: Collection[str] | None,
                      changes: dict[str, Any]) -> dict[str, Any] | None:
        with self._status_locked():
            status = self.status()
            if states is not None and status.get("state") not in states:
                return None
            status.update(changes)
            status["updated"] = time.time()
            write_json_atomic(self.status_file, status)
        return status

    def status_stamp(self) -> tuple[int, int, int] | None:
        """What tells one status.json from the next without reading it: every write
        replaces the file (a new inode), and time and size guard where timestamps are
        coarse. None when there is no status file."""
        try:
            stat = os.stat(self.status_file)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return stat.st_ino, stat.st_mtime_ns, stat.st_size

    def summary(self) -> dict[str, Any]:
        data = read_json(self.summary_file)
        return data if isinstance(data, dict) else {}

    def stop_requested(self) -> bool:
        return self.stop_file.exists()


def create_run_dir(runs_dir: Path, spec: RunSpec, **status: Any) -> RunDir:
    """Make the directory of a new run with its spec and first status, atomically visible.

    Should another process have made a run of the same id in the meantime, this one
    takes the next id (the returned RunDir's name is the id it got)."""
    folder = runs_dir / spec.experiment
    folder.mkdir(parents=True, exist_ok=True)
    # Build in a hidden sibling and rename, so no reader ever sees a run without run.json.
    staging = folder / f".{spec.run_id}.{secrets.token_hex(4)}"
    staging.mkdir()  # not mkdtemp, whose 0700 would hide the run from other users
    run = RunDir(staging)
    write_json_atomic(run.run_file, spec.__dict__)
    run.write_status(**status)
    (staging / TB_DIR).mkdir()
    (staging / ARTIFACTS_DIR).mkdir()
    while True:
        final = folder / spec.run_id
        try:
            os.rename(staging, final)  # fails, leaving both as they are, if final exists
            return RunDir(final)
        except OSError:
            if not final.exists():
                raise
            spec = RunSpec.from_json({**spec.__dict__, "run_id": new_run_id()})
            write_json_atomic(run.run_file, spec.__dict__)
