"""What was asked for a run: run.json, written once when the run is made."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from dltui.store.fields import blank_record, field_problem, non_default_fields


class DamagedSpec(ValueError):
    """run.json cannot be read as a run spec; the message says why."""


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
    autolog: bool = True  # framework integrations attach under `dltui run`
    git_commit: str | None = None
    git_dirty: bool | None = None
    manifest: str | None = None
    created: float = field(default_factory=time.time)
    snapshot: str | None = None  # the id of the code copy under runs/.snapshots it runs
    reproduces: str | None = None  # `experiment/run-id` of the run this one repeats

    FIELD_KINDS: ClassVar[dict[str, str]] = {
        "run_id": "str", "experiment": "str", "argv": "list[str]", "params": "dict",
        "cwd": "str", "env": "dict[str]", "gpus": "int", "metric": "str?", "mode": "str",
        "group": "str?", "tags": "list[str]", "task": "str?", "needs": "dict[str]",
        "backend": "str", "backend_options": "dict", "autolog": "bool", "git_commit": "str?",
        "git_dirty": "bool?", "manifest": "str?", "created": "number", "snapshot": "str?",
        "reproduces": "str?",
    }

    @classmethod
    def from_json(cls, data: dict[str, Any], *, check: bool = True) -> RunSpec:
        """A spec from run.json (or an index entry, which omits default values).

        Raises DamagedSpec when a field is missing or of the wrong type (`check=False`
        skips the type check, for index entries this process wrote itself)."""
        if check:
            problem = field_problem(data, cls.FIELD_KINDS)
            if problem is not None:
                raise DamagedSpec(problem)
        spec = blank_record(cls)
        values = spec.__dict__
        values.update(data)
        if len(values) != len(cls.FIELD_KINDS):
            missing = [name for name in cls.FIELD_KINDS if name not in values]
            if missing:
                raise DamagedSpec(f"it has no {missing[0]!r}")
            for name in values.keys() - cls.FIELD_KINDS.keys():
                del values[name]  # a field of another version
        return spec

    @classmethod
    def placeholder(cls, run_id: str, experiment: str) -> RunSpec:
        """The spec shown for a run whose run.json is damaged: its names, nothing else."""
        return cls(run_id=run_id, experiment=experiment, argv=[], params={}, cwd="",
                   created=0.0)

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def to_compact_json(self) -> dict[str, Any]:
        """The fields that differ from their defaults (what an index needs to keep)."""
        return non_default_fields(self, self.FIELD_KINDS)
