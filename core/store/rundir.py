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

import errno
import fcntl
import json
import os
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dltui.store.active import unmark_active
from dltui.store.fields import read_object
from dltui.store.names import new_run_id
from dltui.store.spec import DamagedSpec, RunSpec
from dltui.store.status import (  # noqa: F401  (the states, for `rd.QUEUED` and the like)
    ACTIVE_STATES,
    DAMAGED,
    FAILED,
    FINAL_STATES,
    KILLED,
    LOST,
    PREEMPTED,
    PRUNED,
    QUEUED,
    REQUEUABLE_STATES,
    RUNNING,
    STARTING,
    SUCCEEDED,
    TIMEOUT,
    RunStatus,
)

RUN_FILE = "run.json"
STATUS_FILE = "status.json"
LOG_FILE = "output.log"
METRICS_FILE = "metrics.jsonl"
SUMMARY_FILE = "summary.json"
ENV_FILE = "env.json"  # the values of the experiment's `env` (tokens live there): owner only
STOP_FILE = "stop-requested"
STATUS_LOCK_FILE = ".status.lock"
# Room kept for the last status of a live run: on a full disk, status.json is rewritten
# into these blocks already allocated, so the run can still say how it ended.
STATUS_RESERVE_FILE = ".status.reserve"
STATUS_RESERVE_BYTES = 16 * 1024  # held while status.json is read, changed and replaced
TRACKED_FILE = "tracked"
TB_DIR = "tb"
ARTIFACTS_DIR = "artifacts"
CHECKPOINT_FILE = "checkpoint.pt"  # in artifacts/: what a built-in task resumes from



def write_json_atomic(path: Path, data: Any, *, compact: bool = False,
                      private: bool = False) -> None:
    """Replace `path` with `data` so that a reader sees the old or the new file, never half
    (`private`: readable by the owner only)."""
    # Not mkstemp: its files are 0600, and runs are read by other users of a shared machine.
    tmp = str(path.parent / f".{path.name}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            if compact:  # `dumps`, not `dump`: only a whole-text encode runs in C
                out.write(json.dumps(data, separators=(",", ":"), default=str))
            else:
                out.write(json.dumps(data, indent=1, sort_keys=True, default=str))
            out.write("\n")
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        if err.filename is None:  # a failed flush names no file: name the one meant
            raise OSError(err.errno, err.strerror, str(path)) from err
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path | str, default: Any = None) -> Any:
    """Read a JSON file written by `write_json_atomic`; missing or unreadable gives `default`."""
    try:
        with open(path, encoding="utf-8") as src:
            return json.load(src)
    except (OSError, ValueError):  # missing, unreadable, not UTF-8, not JSON
        return default


class RunDir:
    """Paths and small file operations of one run directory."""

    def __init__(self, path: Path | str) -> None:
        # The directory as a string: listings of 10,000 runs use it, not a Path.
        self.text = path if isinstance(path, str) else str(path)
        self._path: Path | None = path if isinstance(path, Path) else None

    @property
    def path(self) -> Path:
        # Made on first use: listing 10,000 runs should not pay for 10,000 Paths.
        if self._path is None:
            self._path = Path(self.text)
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

    @property
    def runs_root(self) -> Path:
        """The runs directory this run belongs to (`runs/<experiment>/<id>` -> `runs`)."""
        return self.path.parent.parent

    def read_spec(self) -> tuple[RunSpec | None, str | None]:
        """(the spec, None), (None, None) when there is no run.json, or (None, what is
        wrong with it)."""
        data, problem = read_object(f"{self.text}/{RUN_FILE}")
        if data is None:
            return None, None if problem is None else f"run.json {problem}"
        try:
            spec = RunSpec.from_json(data)
        except DamagedSpec as err:
            return None, f"run.json: {err}"
        if spec.env:  # run.json names the variables; their values are in env.json
            values = read_json(self.path / ENV_FILE, {})
            if isinstance(values, dict):
                spec.env = {k: str(values.get(k, v)) for k, v in spec.env.items()}
        return spec, None

    def spec(self) -> RunSpec | None:
        """The spec, or None when run.json is missing or damaged."""
        return self.read_spec()[0]

    def _read_status_data(self) -> tuple[dict[str, Any] | None, str | None]:
        data, problem = read_object(f"{self.text}/{STATUS_FILE}")
        if data is None and problem is None:
            problem = "is missing"
        return data, None if problem is None else f"status.json {problem}"

    def status(self) -> RunStatus:
        """The parsed status; state DAMAGED (with the reason) when the file is bad."""
        data, problem = self._read_status_data()
        if data is None:
            return RunStatus.damaged_by(problem or "status.json is missing")
        return RunStatus.from_json(data)

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

    def write_status(self, **changes: Any) -> RunStatus:
        """Merge `changes` into status.json atomically and return the new status."""
        status = self._merge_status(None, changes)
        assert status is not None
        return status

    def change_status_if(self, states: Collection[str], **changes: Any) -> RunStatus | None:
        """Merge `changes` only while the run's state is one of `states` (checked and
        written under the same lock); None, with nothing written, when it is not."""
        return self._merge_status(states, changes)

    def end(self, state: str, **changes: Any) -> RunStatus:
        """Write a final status (ended now unless `ended_at` is given) and take the run
        off the index of active runs."""
        changes.setdefault("ended_at", time.time())
        status = self.write_status(state=state, **changes)
        (self.path / STATUS_RESERVE_FILE).unlink(missing_ok=True)
        unmark_active(self.runs_root, self.run_id)
        return status

    def end_if(self, states: Collection[str], state: str, **changes: Any) -> RunStatus | None:
        """`end` only while the run's state is one of `states`; None when it is not."""
        changes.setdefault("ended_at", time.time())
        status = self.change_status_if(states, state=state, **changes)
        if status is not None:
            unmark_active(self.runs_root, self.run_id)
        return status

    def record_found_ending(self, status: RunStatus, state: str, **changes: Any) -> RunStatus:
        """A reader found the run ended (its process is gone): say so in status.json, or,
        where that cannot be written (a full disk, a read-only folder), in what it shows;
        a reader never fails for want of space."""
        changes.setdefault("ended_at", time.time())
        try:
            return self.end(state, **changes)
        except OSError:
            return status.with_changes(state=state, **changes)

    def _merge_status(self, states: Collection[str] | None,
                      changes: dict[str, Any]) -> RunStatus | None:
        with self._status_locked():
            # A damaged file is replaced by what its writers say from now on.
            data = self._read_status_data()[0] or {}
            if states is not None and data.get("state", QUEUED) not in states:
                return None
            data.update(changes)
            data["updated"] = time.time()
            try:
                write_json_atomic(self.status_file, data)
            except OSError as err:
                if err.errno not in (errno.ENOSPC, errno.EDQUOT) or \
                        not self._write_into_reserve(data):
                    raise
        return RunStatus.from_json(data)

    def reserve_status_space(self) -> None:
        """Keep room for the run's last status should the disk fill up (best effort)."""
        reserve = self.path / STATUS_RESERVE_FILE
        try:
            if not reserve.exists():
                with open(reserve, "wb") as out:
                    out.write(bytes(STATUS_RESERVE_BYTES))
        except OSError:
            reserve.unlink(missing_ok=True)

    def _write_into_reserve(self, data: dict[str, Any]) -> bool:
        """status.json written into the reserved blocks and renamed into place (a rename
        takes no new block); False when there is no reserve or it is too small."""
        reserve = self.path / STATUS_RESERVE_FILE
        text = (json.dumps(data, indent=1, sort_keys=True, default=str) + "\n").encode()
        try:
            if reserve.stat().st_size < len(text):
                return False
            with open(reserve, "r+b") as out:
                out.write(text)
                out.truncate(len(text))
            os.replace(reserve, self.status_file)
        except OSError:
            return False
        return True

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
        data = read_json(f"{self.text}/{SUMMARY_FILE}")
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
    staging = folder / f".{spec.run_id}.{os.urandom(4).hex()}"
    staging.mkdir()  # not mkdtemp, whose 0700 would hide the run from other users
    run = RunDir(staging)
    _write_spec(run, spec)
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
            spec = RunSpec.from_json({**spec.to_json(), "run_id": new_run_id()})
            _write_spec(run, spec)


def _write_spec(run: RunDir, spec: RunSpec) -> None:
    """run.json for everyone to read, the values of its `env` for the owner alone."""
    data = spec.to_json()
    if spec.env:
        write_json_atomic(run.path / ENV_FILE, spec.env, private=True)
        data["env"] = dict.fromkeys(spec.env, "")
    write_json_atomic(run.run_file, data)
