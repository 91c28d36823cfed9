"""Where a run executes: a local subprocess, torchrun on one node, or a Slurm job.

A backend is one module holding one object that follows `Backend`, and one line in
`_REGISTRY` below. The store, the queue, stop and requeue, the launcher and the run
wrapper ask the run's backend (named once, in run.json) and never its name.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from dltui.errors import UserError

if TYPE_CHECKING:
    from dltui.store.rundir import RunDir
    from dltui.store.spec import RunSpec
    from dltui.store.status import RunStatus


class LineSink(Protocol):
    """What the run wrapper feeds the child's output lines to."""

    def feed(self, line: str) -> None: ...

    def close(self) -> None: ...


class Backend(Protocol):
    name: str
    # Whether a run takes one of this machine's slots (a GPU, or a CPU slot) while it runs.
    uses_local_slots: bool

    def check_spec(self, spec: RunSpec) -> None:
        """Raise UserError at launch for what would fail when the run starts."""

    def start(self, run: RunDir) -> None:
        """Start a run the queue has just marked `starting` (never raises for the run's own
        failure: that is recorded in its status)."""

    def reconcile(self, run: RunDir, spec: RunSpec, status: RunStatus) -> RunStatus:
        """The status as it really is: a dead process, a finished job. Applies what it
        finds to status.json where it can, and in memory where it cannot."""

    def settled(self, status: RunStatus) -> bool:
        """Whether a final status can no longer change (and may be cached)."""

    def pending_elsewhere(self, status: RunStatus) -> bool:
        """Whether a queued run is waiting in another queue (a cluster's), not in ours."""

    def stop(self, run: RunDir, status: RunStatus) -> bool:
        """Ask a started run to stop; True when a local process group was signalled and the
        caller should wait for it (and SIGKILL it after the grace period)."""

    def requeue(self, run: RunDir) -> str | None:
        """Queue an ended run again in place when this backend does it its own way; the
        words to say, or None for the queue's usual requeue."""

    def command(self, argv: list[str], spec: RunSpec, run_path: Path) -> list[str]:
        """What the run wrapper starts for the run's command."""

    def output_lines(self, sink: LineSink) -> LineSink:
        """The sink the wrapper feeds the child's output to (a filter of `sink`, or it)."""

    def restart_notes(self, status: RunStatus) -> list[str]:
        """Why a run starts again, in words beyond its attempt number."""

    def row_fields(self, status: RunStatus) -> dict[str, Any]:
        """Facts of this backend's own that listings show (a cluster job's id and state)."""

    def where(self, status: RunStatus) -> str | None:
        """Where the run executes, for a listing's column, when it is not this machine."""

    def state_note(self, status: RunStatus) -> str | None:
        """The backend's own name for the state, when it says more than ours."""


# name -> "module:attribute"; imported on first use, so that naming a backend costs nothing.
_REGISTRY: dict[str, str] = {
    "local": "dltui.backends.local:LOCAL",
    "torchrun": "dltui.backends.torchrun:TORCHRUN",
    "slurm": "dltui.backends.slurm:SLURM",
}
_loaded: dict[str, Backend] = {}


def backend_names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def get_backend(name: str) -> Backend:
    """The backend registered as `name`; UserError naming the known ones otherwise."""
    found = _loaded.get(name)
    if found is not None:
        return found
    where = _REGISTRY.get(name)
    if where is None:
        raise UserError(f"unknown backend {name!r}", fix=f"use {', '.join(_REGISTRY)}")
    module, _, attribute = where.partition(":")
    found = getattr(importlib.import_module(module), attribute)
    _loaded[name] = found
    return found

