"""Where a run stands: status.json parsed once, checked, into a `RunStatus`.

status.json is rewritten whole (atomically) by whoever moves a run on: the
launcher, the queue's supervisor, the run wrapper, a backend, `dltui stop`. A
file that cannot be parsed, or whose fields have the wrong types, makes a
status whose state is `damaged` and whose `damaged` says what is wrong: one
damaged run is shown as such and never breaks a reader of the others.

Keys a backend keeps of its own (a Slurm job's id and state) and keys this
version does not know are kept in `extra`, and written back as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from dltui.store.fields import blank_record, field_problem, non_default_fields

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
DAMAGED = "damaged"  # a run file cannot be read: shown, never acted on
ACTIVE_STATES = frozenset({QUEUED, STARTING, RUNNING})
FINAL_STATES = frozenset({SUCCEEDED, FAILED, KILLED, LOST, TIMEOUT, PREEMPTED, PRUNED})
REQUEUABLE_STATES = FINAL_STATES - {SUCCEEDED}  # ended without finishing: may go on in place
STATES = ACTIVE_STATES | FINAL_STATES | {DAMAGED}


@dataclass
class RunStatus:
    """One status.json. Times are Unix seconds; None where not (yet) known."""

    state: str = QUEUED
    # The run wrapper's process, and the group and child it leads.
    pid: int | None = None
    pid_start: int | None = None
    pgid: int | None = None
    child_pid: int | None = None
    host: str | None = None
    argv: list[str] | None = None  # what was started, placeholders filled
    queued_at: float | None = None
    started_at: float | None = None
    ended_at: float | None = None
    requeued_at: float | None = None
    updated: float | None = None
    queue_order: float = 0.0
    batch: str | None = None  # the launch that made it (a sweep shares one)
    waits_for: list[str] = field(default_factory=list)  # runs (experiment/id) it waits for
    needs: dict[str, str] = field(default_factory=dict)  # name -> run directory it consumes
    gpu_ids: list[int] | None = None  # given when it starts; [] is the CPU
    exit_code: int | None = None
    error: str | None = None
    attempt: int = 1
    launched_by: str | None = None
    # Written by the wrapper when the run ends: {metric: {"last", "best", "count"}}.
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_step: float | None = None
    total: float | None = None
    sys_peaks: dict[str, Any] = field(default_factory=dict)  # the process tree's, at the end
    notify: list[str] = field(default_factory=list)  # where word of its ending goes
    extra: dict[str, Any] = field(default_factory=dict)
    damaged: str | None = None  # what is wrong with the file, when state is DAMAGED

    FIELD_KINDS: ClassVar[dict[str, str]] = {
        "state": "str", "pid": "int?", "pid_start": "int?", "pgid": "int?",
        "child_pid": "int?", "host": "str?", "argv": "list[str]?", "queued_at": "number?",
        "started_at": "number?", "ended_at": "number?", "requeued_at": "number?",
        "updated": "number?", "queue_order": "number", "batch": "str?",
        "waits_for": "list[str]", "needs": "dict[str]", "gpu_ids": "list[int]?",
        "exit_code": "int?", "error": "str?", "attempt": "int", "launched_by": "str?",
        "metrics": "dict[dict]", "last_step": "number?", "total": "number?",
        "sys_peaks": "dict", "notify": "list[str]",
    }

    @classmethod
    def from_json(cls, data: dict[str, Any], *, check: bool = True) -> RunStatus:
        """The status a status.json object gives; a damaged one if its fields are wrong
        (`check=False` trusts them: an index entry this version wrote)."""
        if check:
            problem = field_problem(data, cls.FIELD_KINDS)
            if problem is None and data.get("state", QUEUED) not in STATES:
                problem = (f"state is {data.get('state')!r}, not one of "
                           f"{', '.join(sorted(STATES))}")
            if problem is not None:
                return cls.damaged_by(f"status.json: {problem}")
        status = blank_record(cls)
        values = status.__dict__
        extra = status.extra
        for key, value in data.items():
            if key in cls.FIELD_KINDS:
                values[key] = value
            elif key not in ("extra", "damaged"):
                extra[key] = value
        return status

    @classmethod
    def damaged_by(cls, reason: str) -> RunStatus:
        return cls(state=DAMAGED, damaged=reason)

    def to_json(self) -> dict[str, Any]:
        """The status.json object: every field, then the extra keys as they were."""
        data = {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in ("extra", "damaged")}
        data.update(self.extra)
        return data

    def to_compact_json(self) -> dict[str, Any]:
        """The fields that differ from their defaults (what an index needs to keep)."""
        data = non_default_fields(self, self.FIELD_KINDS)
        data.update(self.extra)
        return data

    def with_changes(self, **changes: Any) -> RunStatus:
        """A copy with some fields (or extra keys) set, for a view that cannot be saved."""
        data = self.to_json()
        data.update(changes)
        return RunStatus.from_json(data)

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES
