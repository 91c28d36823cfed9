"""Resumable training: `artifacts/checkpoint.pt`, written after every epoch, read at start.

A run queued again in its own directory (`dltui requeue RUN` after a time limit, a
preemption, a crash or a stop) starts its task from the top; the task finds the
checkpoint and goes on with the epoch after it, with the model, the optimizer, the
schedule, every random stream and its running values (bests, step counters) as
they were. On a CPU the run then ends bit for bit as an uninterrupted one would.

The checkpoint is removed when the task ends well: a finished run keeps only what
the task saves as its result, not a second copy of the weights and optimizer.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dltui.errors import UserError
from dltui.store import rundir as rd
from dltui.tasks.harness import fail
from dltui.tracking.run import OtherRankRun, Run

CHECKPOINT = rd.CHECKPOINT_FILE


def _random_state() -> dict[str, Any]:
    state: dict[str, Any] = {"python": random.getstate(), "numpy": np.random.get_state(),
                             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_random_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    # A requeued job may land on a node with other GPUs: their streams then start afresh.
    if torch.cuda.is_available() and len(state.get("cuda", ())) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


def _state_of(thing: Any) -> Any:
    if isinstance(thing, torch.Generator):
        return thing.get_state()
    if isinstance(thing, np.random.Generator):
        return thing.bit_generator.state
    return thing.state_dict()


def _restore(thing: Any, state: Any) -> None:
    if isinstance(thing, torch.Generator):
        thing.set_state(state)
    elif isinstance(thing, np.random.Generator):
        thing.bit_generator.state = state
    else:
        thing.load_state_dict(state)


class Checkpoint:
    """The state a task's epochs carry, saved and restored as one.

    `resume(**parts)` names what changes as training goes on: modules, optimizers,
    learning-rate schedules (anything with state_dict/load_state_dict), torch and
    numpy random generators; `save` writes those same parts. The global random
    streams (dropout, shuffles) are always included.
    """

    def __init__(self, run: Run) -> None:
        self.run = run
        self.path: Path = run.dir.artifacts_dir / CHECKPOINT
        # Every rank of a torchrun run resumes; rank 0 alone writes.
        self.writes = not isinstance(run, OtherRankRun)
        self.parts: dict[str, Any] = {}
        self._saved: dict[str, Any] | None = None

    @property
    def exists(self) -> bool:
        """Whether this run resumes (work done before the first epoch may be skipped)."""
        return self.path.exists()

    def resume(self, **parts: Any) -> tuple[int, dict[str, Any]]:
        """Restore `parts` if a checkpoint exists: (the last epoch done, the values saved
        with it); (0, {}) with none. `save` writes every part named here.

        It may be called more than once, as the parts come into being (a frozen encoder
        before the decoder it sizes); the random streams are restored each time, so call
        it last right before the first epoch."""
        self.parts.update(parts)
        if self._saved is None:
            if not self.path.exists():
                return 0, {}
            self._saved = torch.load(self.path, map_location="cpu", weights_only=False)
            print(f"resuming after epoch {self._saved['epoch']} from {self.path}", flush=True)
        saved = self._saved
        missing = sorted(set(parts) - set(saved["parts"]))
        if missing:
            fail(self.run, UserError(
                f"{self.path} holds no {', '.join(missing)}: another version of this task "
                "wrote it", fix=f"remove {self.path} and requeue the run to start it over"))
        for name, thing in parts.items():
            _restore(thing, saved["parts"][name])
        _set_random_state(saved["random"])
        return int(saved["epoch"]), dict(saved["values"])

    def save(self, epoch: int, **values: Any) -> None:
        """Record that `epoch` is done; `values` come back from `resume`."""
        if not self.writes:
            return
        state = {"epoch": epoch, "values": values, "random": _random_state(),
                 "parts": {name: _state_of(thing) for name, thing in self.parts.items()}}
        partial = self.path.with_name(f".{CHECKPOINT}.{os.getpid()}.tmp")
        torch.save(state, partial)
        os.replace(partial, self.path)  # a kill mid-write leaves the previous epoch's

    def done(self) -> None:
        """Training is over and its result saved: the checkpoint is no longer needed."""
        if self.writes:
            self.path.unlink(missing_ok=True)
            for partial in self.path.parent.glob(f".{CHECKPOINT}.*.tmp"):  # cut by a kill
                partial.unlink(missing_ok=True)
