"""Queue an ended run again in its own directory, where its task resumes from its checkpoint.

Unlike a restart (a new run with the same params), a requeued run keeps its id, its
log and its metrics: the wrapper appends to output.log, the task appends to
metrics.jsonl from the epoch after its last checkpoint, and status.json counts the
`attempt`. Runs that time out, are preempted, crash, are stopped or are lost (the
machine restarted) can be requeued; a run that succeeded cannot.
"""

from __future__ import annotations

import time

from dltui.backends import get_backend
from dltui.errors import UserError
from dltui.queue.scheduler import ensure_supervisor
from dltui.store import rundir as rd
from dltui.store.active import mark_active
from dltui.store.runs import load_run


def requeue(*, run: rd.RunDir) -> str:
    """Queue `run` again in place (Slurm runs: submit a new job); what was done, in words.

    Raises UserError when the run is not there, still active or succeeded."""
    info = load_run(run.path)
    if info is None:
        raise UserError(f"{run.path} is gone", fix="`dltui ps --all` lists runs")
    if info.damage:
        raise UserError(f"run {info.ref} is damaged: {info.damage}", fix=info.damage_fix)
    resumes = (" from its checkpoint" if (run.artifacts_dir / rd.CHECKPOINT_FILE).exists()
               else " from the start (its code saved no checkpoint)")
    done = get_backend(info.spec.backend).requeue(run)
    if done is not None:
        return f"{info.ref}: {done}; it resumes{resumes}"
    if info.state not in rd.REQUEUABLE_STATES:
        fix = ("stop it first (`dltui stop`)" if info.state in rd.ACTIVE_STATES
               else "`dltui run` the experiment for a new run")
        raise UserError(f"run {info.ref} is {info.state}; only runs that ended without "
                        "finishing can be requeued", fix=fix)
    run.stop_file.unlink(missing_ok=True)
    now = time.time()
    changed = run.change_status_if(
        rd.REQUEUABLE_STATES, state=rd.QUEUED, attempt=info.status.attempt + 1,
        queued_at=now, queue_order=now, requeued_at=now, pid=None,
        pid_start=None, child_pid=None, exit_code=None, ended_at=None, error=None)
    if changed is None:
        raise UserError(f"run {info.ref} changed while being requeued",
                        fix="look at `dltui ps --all` and try again")
    mark_active(run.runs_root, run.path)
    ensure_supervisor(run.runs_root)
    return f"{info.ref}: queued again in its directory; it resumes{resumes}"
