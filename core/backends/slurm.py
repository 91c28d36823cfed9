"""The Slurm backend: each run is a Slurm job, submitted through submitit.

The job runs the same wrapper as a local run, `python -m dltui.queue.runner RUN_DIR`, on
the compute node, so output.log, metrics and the final status are written the
same way; the run directory must therefore lie on a file system the login node
and the compute nodes share. Everything else reads the files, joined here with
the job's Slurm state (`slurm_state` in status.json) whenever a run is read:

    PENDING -> queued   RUNNING -> running   COMPLETED -> succeeded   CANCELLED -> killed
    FAILED, OUT_OF_MEMORY, NODE_FAIL -> failed   TIMEOUT -> timeout   PREEMPTED -> preempted

A run that ended by its time limit or by preemption can be requeued in place
(`requeue_run`, or `dltui requeue RUN`): a new job in
the same run directory, where the training code finds its last checkpoint.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from dltui.backends.local import LocalBackend
from dltui.backends.slurm_jobs import (
    CACHE,
    FAILED_STATES,
    QUEUED_STATES,
    JobState,
    SlurmUnavailable,
)
from dltui.backends.slurm_options import SlurmOptions, slurm_options
from dltui.errors import UserError
from dltui.store import rundir as rd
from dltui.store.active import active_paths, mark_active
from dltui.store.names import new_run_id
from dltui.store.spec import RunSpec
from dltui.store.status import RunStatus

SUBMIT_FOLDER = ".slurm"  # runs/.slurm/<submission>/: submitit's pickles and job logs
LOST_AFTER = 600.0  # a job Slurm has forgotten this long after submission is lost
FORGOTTEN = "FORGOTTEN"  # the verdict of a job Slurm no longer knew when first asked
STATE_OF = {"COMPLETED": rd.SUCCEEDED, "CANCELLED": rd.KILLED, "TIMEOUT": rd.TIMEOUT,
            "PREEMPTED": rd.PREEMPTED, **dict.fromkeys(FAILED_STATES, rd.FAILED)}
# What to do about Slurm's most common refusals (its own words come first in the message).
_HINTS = (
    ("partition", "check partition in [backends.slurm]; `sinfo -s` lists the partitions"),
    ("node configuration is not available", "ask for fewer GPUs, CPUs or less memory than a "
     "node has; `sinfo -o '%P %c %m %G'` shows what nodes offer"),
    ("time limit", "lower time in [backends.slurm] to the partition's limit (`sinfo -s`)"),
    ("account", "set sbatch = { account = \"...\" } to an account of yours "
     "(`sacctmgr show assoc user=$USER`)"),
    ("qos", "set sbatch = { qos = \"...\" } to a QOS you may use"),
    ("gres", "ask for GPUs only on a partition that has them (gpus_per_node = 0 otherwise)"),
    ("memory", "lower mem in [backends.slurm]"),
)


class SubmissionRefused(Exception):
    """sbatch said no; the message carries Slurm's own words."""


def check_spec(spec: RunSpec) -> SlurmOptions:
    """Raise a UserError now, at `dltui run`, for what would fail at submission."""
    options = slurm_options(spec.backend_options, spec.params, manifest=spec.manifest)
    if shutil.which("sbatch") is None:
        raise UserError("the slurm backend needs Slurm's commands, and sbatch is not on PATH "
                        "here", fix="run dltui from a login node of the cluster, or choose "
                        "--backend local")
    return options


def _refusal(words: str) -> str:
    lines = [line.strip() for line in words.strip().splitlines() if line.strip()]
    said = "; ".join(line for line in lines if "error" in line.lower()) or "; ".join(lines[-2:])
    hint = next((fix for key, fix in _HINTS if key in said.lower()), "")
    return f"Slurm refused the job: {said or 'sbatch failed without a message'}" + (
        f"\n  fix: {hint}" if hint else "")


def _array_mates(run: rd.RunDir, spec: RunSpec, status: RunStatus) -> list[rd.RunDir]:
    """The other queued runs of this launch and experiment that can share one job array."""
    if spec.needs or status.waits_for:
        return []
    mates = []
    for path in active_paths(run.runs_root):
        if path == run.path or path.parent.name != spec.experiment:
            continue
        other = rd.RunDir(path)
        other_spec, other_status = other.spec(), other.status()
        if (other_spec is None
                or other_status.batch != status.batch
                or other_spec.backend != spec.backend or other_spec.needs
                or other_status.waits_for
                or other_spec.backend_options != spec.backend_options
                or _set_options(other_spec) != _set_options(spec)):
            continue
        if other.change_status_if((rd.QUEUED,), state=rd.STARTING, gpu_ids=None,
                                  needs={}) is not None:
            mates.append(other)
    return mates


def _set_options(spec: RunSpec) -> dict[str, Any]:
    return {k: v for k, v in spec.params.items() if k.startswith("slurm.")}


def submit_run(run: rd.RunDir, *, array: bool = True) -> list[str]:
    """Submit `run` (with the queued runs of its sweep, as one job array) and record the job
    ids in their status; a refusal marks them failed with Slurm's words. Never raises for
    the cluster's answer: it runs inside the queue's supervisor."""
    spec = run.spec()
    if spec is None:
        return []
    status = run.status()
    group = [run]
    try:
        options = slurm_options(spec.backend_options, spec.params, manifest=spec.manifest)
        if array and options.array:
            group += _array_mates(run, spec, status)
        folder = run.runs_root / SUBMIT_FOLDER / new_run_id()
        job_ids = _submit(group, spec, options, folder)
    except Exception as err:  # the queue's supervisor must outlive whatever goes wrong here
        said = str(err) if isinstance(err, (UserError, SubmissionRefused)) else (
            f"submitting to Slurm failed: {type(err).__name__}: {err}")
        for member in group:
            member.end(rd.FAILED, error=said)
        return []
    now = time.time()
    for member, job_id in zip(group, job_ids, strict=True):
        # The job may have started already: its state is Slurm's to say, not written here.
        member.write_status(slurm_job_id=job_id, submitted_at=now,
                            slurm_folder=str(folder), gpu_ids=None,
                            attempt=member.status().attempt)
        if member.stop_requested():  # stopped while sbatch ran
            cancel_run(member)
    return job_ids


def _submit(group: list[rd.RunDir], spec: RunSpec, options: SlurmOptions,
            folder: Path) -> list[str]:
    try:
        import submitit
        from submitit.core.utils import FailedJobError
    except ImportError:
        raise SubmissionRefused("the slurm backend needs submitit: pip install "
                                "'dltui[slurm]'") from None
    try:
        executor = submitit.SlurmExecutor(folder=folder, python=options.python)
    except RuntimeError as err:  # no srun here
        raise SubmissionRefused(f"{err}: run dltui on a login node of the cluster") from None
    executor.update_parameters(**options.submitit_parameters(experiment=spec.experiment,
                                                             gpus=spec.gpus))
    try:
        jobs = executor.map_array(run_on_node, [str(member.path) for member in group])
    except FailedJobError as err:
        raise SubmissionRefused(_refusal(str(err))) from None
    except (OSError, subprocess.SubprocessError) as err:
        raise SubmissionRefused(f"sbatch could not be run: {err}") from None
    return [str(job.job_id) for job in jobs]


def cancel_run(run: rd.RunDir) -> None:
    """`scancel` the run's job; the run shows killed (Slurm: CANCELLED) at once."""
    status = run.status()
    job = status.extra.get("slurm_job_id")
    if job:
        try:
            done = subprocess.run(["scancel", str(job)], capture_output=True, text=True,
                                  timeout=30)
        except (OSError, subprocess.SubprocessError) as err:
            raise UserError(f"cannot cancel Slurm job {job}: {err}",
                            fix="run `dltui stop` where Slurm's scancel works") from None
        if done.returncode != 0:
            raise UserError(f"Slurm did not cancel job {job}: {done.stderr.strip()}",
                            fix=f"try `scancel {job}` yourself")
        CACHE.forget(str(job))
    if status.state not in rd.FINAL_STATES:
        run.end(rd.KILLED, slurm_state="CANCELLED" if job else None,
                error=None if job else "cancelled before it was submitted")


def _active_job_ids(root: Path) -> list[str]:
    ids = []
    for path in active_paths(root):
        job = rd.RunDir(path).status().extra.get("slurm_job_id")
        if job:
            ids.append(str(job))
    return ids


def join_status(run: rd.RunDir, status: RunStatus) -> RunStatus:
    """The run's status joined with its job's Slurm state (see the module's table).

    A final Slurm state is written to status.json once (`slurm_verdict`); until then
    the state shown comes from Slurm, batched and cached (slurm_jobs.CACHE)."""
    job = status.extra.get("slurm_job_id")
    state = status.state
    if not job:
        return status
    verdict = status.extra.get("slurm_verdict")
    if verdict:
        wanted = STATE_OF.get(verdict, state)
        if state != wanted and state in rd.FINAL_STATES and verdict != "COMPLETED":
            # The wrapper wrote its own ending (killed by the signal) after the verdict.
            return _write_or_show(run, status, state=wanted)
        return status
    if state == rd.SUCCEEDED:  # the wrapper's own word, written before its job completed
        return status if status.extra.get("slurm_state") == "COMPLETED" else \
            status.with_changes(slurm_state="COMPLETED")
    # A run that ended long before anyone looked (its job timed out overnight) is still
    # asked about once: the wrapper's own word ("killed", by the limit's signal) is not
    # Slurm's verdict, and only the verdict lets it be requeued.
    ended = status.ended_at
    long_ended = (state in rd.FINAL_STATES and ended is not None
                  and time.time() - ended > LOST_AFTER)
    try:
        found = CACHE.get(str(job), lambda: _active_job_ids(run.runs_root))
        if state in rd.FINAL_STATES and found is not None and not found.is_final:
            CACHE.forget(str(job))  # the wrapper has ended: Slurm has its verdict by now
            found = CACHE.get(str(job))
    except SlurmUnavailable as err:
        # Runs read far from their cluster (a copied runs folder) show the files' word.
        return status if long_ended else status.with_changes(slurm_error=str(err))
    if found is None and long_ended:
        # Slurm has forgotten the job: the files' word stands, and is not asked about again.
        return _write_or_show(run, status, slurm_verdict=FORGOTTEN)
    if found is None:
        submitted = float(status.extra.get("submitted_at") or 0)
        if state not in rd.FINAL_STATES and time.time() - submitted > LOST_AFTER:
            return run.record_found_ending(status, rd.LOST,
                                           error=f"Slurm no longer knows job {job}")
        return status
    if found.is_final:
        return _record_ending(run, status, found)
    if state in rd.FINAL_STATES:
        if run.stop_requested():
            return status  # stopped from here: killed (CANCELLED) while Slurm winds the job up
        try:
            mark_active(run.runs_root, run.path)  # followed as live until Slurm's verdict
        except OSError:
            pass  # a read-only runs directory: shown as live all the same
        if found.state not in QUEUED_STATES:
            # The wrapper has ended (killed by the time limit's signal, say); the job has
            # not: the run ends with its job, as TIMEOUT, PREEMPTED, FAILED...
            return status.with_changes(state=rd.RUNNING, slurm_state=found.state)
        # Slurm requeued the job itself (preemption, `scontrol requeue`): it runs here again.
        status = _write_or_show(run, status, state=rd.STARTING, ended_at=None, error=None)
        state = rd.STARTING
    shown: dict[str, Any] = {"slurm_state": found.state}
    if found.state in QUEUED_STATES:
        shown["slurm_reason"] = found.reason
        if state not in rd.FINAL_STATES and state != rd.RUNNING:
            shown["state"] = rd.QUEUED
    elif state not in rd.FINAL_STATES:
        shown["state"] = rd.RUNNING
    return status.with_changes(**shown)


def _write_or_show(run: rd.RunDir, status: RunStatus, **changes: Any) -> RunStatus:
    """Record what a reader learnt from Slurm; only show it where it cannot be written."""
    try:
        return run.write_status(**changes)
    except OSError:
        return status.with_changes(**changes)


def _record_ending(run: rd.RunDir, status: RunStatus, job: JobState) -> RunStatus:
    if job.state == "COMPLETED":
        fresh = run.status()  # the wrapper wrote its ending before its job completed
        if fresh.state in rd.FINAL_STATES:  # succeeded, or stopped before it began
            return _write_or_show(run, fresh, slurm_state=job.state, slurm_verdict=job.state)
    changes: dict[str, Any] = {"slurm_state": job.state, "slurm_verdict": job.state}
    if status.ended_at:
        changes["ended_at"] = status.ended_at
    error = _ending_text(run, status, job)
    if error is not None or job.state != "FAILED":
        changes["error"] = error
    return run.record_found_ending(status, STATE_OF.get(job.state, rd.FAILED), **changes)


def _ending_text(run: rd.RunDir, status: RunStatus, job: JobState) -> str | None:
    said = f" ({job.reason})" if job.reason else ""
    if job.state == "TIMEOUT":
        limit = f" of {job.time_limit}" if job.time_limit else ""
        return (f"past its time limit{limit} (Slurm: TIMEOUT); requeue it to resume from "
                "its last checkpoint")
    if job.state == "PREEMPTED":
        return ("preempted by Slurm for other work (Slurm: PREEMPTED); requeue it to resume "
                "from its last checkpoint")
    if job.state == "CANCELLED":
        return None if run.stop_requested() else f"cancelled outside dltui (Slurm: CANCELLED){said}"
    if job.state == "OUT_OF_MEMORY":
        return "went over its memory (Slurm: OUT_OF_MEMORY); raise mem in [backends.slurm]"
    if job.state == "NODE_FAIL":
        return f"its node failed (Slurm: NODE_FAIL){said}"
    if job.state == "COMPLETED":
        return None
    if status.state == rd.STARTING:  # it never reached the wrapper: say what Slurm saw
        tail = _job_log_tail(status, str(job.job_id))
        return f"the job failed before the run started (Slurm: {job.state}){said}" + (
            f": {tail}" if tail else "")
    return status.error or f"Slurm: {job.state}{said}"


def _job_log_tail(status: RunStatus, job_id: str) -> str:
    folder = status.extra.get("slurm_folder")
    if not folder:
        return ""
    for path in sorted(Path(folder).glob(f"{job_id}_*_log.*")):
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
        if lines:
            return f"{lines[-1].strip()} (in {path})"
    return ""


def requeue_run(run: rd.RunDir) -> str:
    """Submit an ended Slurm run again in the same directory; the new job id."""
    spec = run.spec()
    if spec is None or spec.backend != SLURM.name:
        raise UserError(f"{run.path} is not a Slurm run", fix="`dltui run` it again instead")
    status = join_status(run, run.status())
    state = status.state
    if state not in rd.REQUEUABLE_STATES:
        raise UserError(f"run {run.run_id} is {state}; only ended runs can be requeued",
                        fix="stop it first with `dltui stop`" if state not in rd.FINAL_STATES
                        else "it succeeded: `dltui run` the experiment for a new run")
    run.stop_file.unlink(missing_ok=True)
    previous = [*status.extra.get("slurm_jobs", []), status.extra.get("slurm_job_id")]
    run.write_status(state=rd.STARTING, attempt=status.attempt + 1,
                     slurm_jobs=[j for j in previous if j], slurm_job_id=None, slurm_state=None,
                     slurm_verdict=None, slurm_reason=None, error=None, ended_at=None,
                     exit_code=None, requeued_at=time.time())
    mark_active(run.runs_root, run.path)
    job_ids = submit_run(run, array=False)
    if not job_ids:
        raise UserError(str(run.status().error), fix="")
    return job_ids[0]


class SlurmBackend(LocalBackend):
    """Each run a Slurm job; the run wrapper runs on the compute node."""

    name = "slurm"
    uses_local_slots = False

    def check_spec(self, spec: RunSpec) -> None:
        check_spec(spec)

    def start(self, run: rd.RunDir) -> None:
        submit_run(run)

    def reconcile(self, run: rd.RunDir, spec: RunSpec, status: RunStatus) -> RunStatus:
        return join_status(run, status)  # the job's Slurm state, final ones included

    def settled(self, status: RunStatus) -> bool:
        return (not status.extra.get("slurm_job_id") or status.state == rd.SUCCEEDED
                or bool(status.extra.get("slurm_verdict")))

    def pending_elsewhere(self, status: RunStatus) -> bool:
        return bool(status.extra.get("slurm_job_id"))

    def stop(self, run: rd.RunDir, status: RunStatus) -> bool:
        cancel_run(run)
        return False

    def requeue(self, run: rd.RunDir) -> str | None:
        job = requeue_run(run)
        return f"requeued as Slurm job {job}"

    def restart_notes(self, status: RunStatus) -> list[str]:
        restarts = status.extra.get("slurm_restarts")
        return [f"Slurm restart {restarts}"] if restarts else []

    def row_fields(self, status: RunStatus) -> dict[str, Any]:
        return {k: v for k, v in status.extra.items() if k.startswith("slurm_")}

    def where(self, status: RunStatus) -> str | None:
        job = status.extra.get("slurm_job_id")
        return f"slurm:{job}" if job else None

    def state_note(self, status: RunStatus) -> str | None:
        job_state, why = status.extra.get("slurm_state"), status.extra.get("slurm_reason")
        if not job_state or str(job_state).lower() == status.state:
            return None
        return f"{job_state}: {why}" if why else str(job_state)


SLURM = SlurmBackend()


def run_on_node(run_dir: str) -> int:
    """The job's body on the compute node: the usual wrapper around the run's command."""
    # submitit warns of the time limit with SIGUSR2 to every process of the job; here
    # Slurm's own limit decides (the run is then marked timeout), so nobody dies of it.
    signal.signal(signal.SIGUSR2, signal.SIG_IGN)
    run = rd.RunDir(run_dir)
    restarts = int(os.environ.get("SLURM_RESTART_COUNT") or 0)
    if restarts > int(run.status().extra.get("slurm_restarts") or 0):
        # Slurm requeued this job itself (preemption): the run goes on where it was.
        run.write_status(state=rd.STARTING, slurm_restarts=restarts, slurm_verdict=None,
                         error=None, ended_at=None)
        mark_active(run.runs_root, run.path)
    run.write_status(slurm_state="RUNNING")
    code = subprocess.call([sys.executable, "-m", "dltui.queue.runner", run_dir])
    if code == 0 and run.status().state == rd.SUCCEEDED:
        run.write_status(slurm_state="COMPLETED", slurm_verdict="COMPLETED")  # exits 0 next
    if code != 0:
        raise RuntimeError(f"the run ended with code {code}; see {run_dir}/output.log")
    return code
