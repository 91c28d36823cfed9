"""`dltui reproduce RUN`: a new run of the same snapshot, params and needed runs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from dltui import __version__
from dltui.errors import UserError
from dltui.snapshots.environment import read_environment
from dltui.snapshots.store import read_snapshot
from dltui.store import rundir as rd
from dltui.store.active import mark_active
from dltui.store.names import new_run_id
from dltui.store.runs import RunInfo


@dataclass
class Reproduction:
    run: rd.RunDir
    notes: list[str] = field(default_factory=list)  # what differs from the original's setup


def reproduce(*, info: RunInfo) -> Reproduction:
    """Queue a new run with the spec of `info`: its code snapshot, params, environment
    variables and the very runs it needed. Its run.json names the run it reproduces."""
    root = info.dir.runs_root
    spec = info.spec
    notes = []
    if spec.snapshot:
        if read_snapshot(root, spec.snapshot) is None:
            raise UserError(f"the code snapshot {spec.snapshot} of {info.ref} is gone",
                            fix="it cannot be reproduced; `dltui run` runs the code as it is")
    elif spec.task:
        ran_with = read_environment(info.dir.path).get("dltui")
        if ran_with and ran_with != __version__:
            notes.append(f"{info.ref} ran the built-in task of dltui {ran_with}; this one "
                         f"runs dltui {__version__}")
    else:
        notes.append(f"{info.ref} has no code snapshot (snapshot = false): the new run "
                     "executes the code as it is now")
    needs = {}
    for name, path in info.status.needs.items():
        if not Path(path).is_dir():
            raise UserError(f"{info.ref} used {path} for {name!r}, which is gone",
                            fix="it cannot be reproduced as it ran; `dltui run` picks the "
                            "needed runs anew")
        needs[name] = path
    fresh = rd.RunSpec.from_json({**spec.__dict__, "run_id": new_run_id(),
                                  "created": time.time(), "reproduces": info.ref})
    run = rd.create_run_dir(root, fresh, state=rd.QUEUED, queued_at=time.time(),
                            queue_order=time.time(), waits_for=[], batch=new_run_id(),
                            backend=spec.backend, needs=needs)
    mark_active(root, run.path)
    return Reproduction(run, notes)
