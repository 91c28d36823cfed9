"""What Slurm says about jobs: one `squeue` (then one `sacct` for older jobs) for many.

`dltui ps` may list dozens of Slurm runs; each asks here for its job's state, and
the first to ask fetches every job it is told about in one call, cached for a
couple of seconds, so a listing costs one or two Slurm commands, not one per run.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

CACHE_SECONDS = 2.0
RETRY_SECONDS = 30.0  # after "Slurm cannot be reached", ask again only this much later
_RANGE = re.compile(r"^(\d+)_\[([0-9,\-]+)(?:%\d+)?\]$")

# Slurm's job states as dltui shows them; the Slurm name is kept next to ours.
QUEUED_STATES = frozenset({"PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED",
                           "RESV_DEL_HOLD", "CONFIGURING"})
RUNNING_STATES = frozenset({"RUNNING", "COMPLETING", "SUSPENDED", "STOPPED", "SIGNALING",
                            "STAGE_OUT", "RESIZING"})
FAILED_STATES = frozenset({"FAILED", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL", "DEADLINE",
                           "SPECIAL_EXIT", "REVOKED"})
FINAL_STATES = FAILED_STATES | {"COMPLETED", "CANCELLED", "TIMEOUT", "PREEMPTED"}


@dataclass(frozen=True)
class JobState:
    job_id: str
    state: str  # Slurm's own name: PENDING, RUNNING, COMPLETED, CANCELLED, TIMEOUT, ...
    reason: str = ""  # why it is pending, or Slurm's note on how it ended
    exit_code: str = ""
    time_limit: str = ""

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES


class SlurmUnavailable(Exception):
    """Slurm could not be asked; the message is its commands' own.

    `retry_after`: seconds before asking again. A command that is missing or hangs is
    asked again only much later; a controller too busy to answer, at the next look."""

    def __init__(self, message: str, retry_after: float = RETRY_SECONDS) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _expand(job_id: str) -> list[str]:
    """`12_[0-2,5]` (a pending array as Slurm prints it) as 12_0, 12_1, 12_2, 12_5."""
    match = _RANGE.match(job_id)
    if not match:
        return [job_id]
    main, ranges = match.groups()
    ids: list[str] = []
    for part in ranges.split(","):
        low, _, high = part.partition("-")
        ids.extend(f"{main}_{i}" for i in range(int(low), int(high or low) + 1))
    return ids


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        raise SlurmUnavailable(f"{argv[0]} is not installed on {_host()}") from None
    except subprocess.TimeoutExpired:
        raise SlurmUnavailable(f"{argv[0]} did not answer in 30 s") from None


def _host() -> str:
    import socket

    return socket.gethostname()


def _parse(text: str, columns: tuple[str, ...]) -> dict[str, JobState]:
    """Jobs from `|`-separated lines of `columns` (job_id and state first)."""
    found: dict[str, JobState] = {}
    for line in text.splitlines():
        values = dict(zip(columns, line.strip().split("|"), strict=False))
        job_id, state = values.pop("job_id", ""), values.pop("state", "").split()
        if not job_id or "." in job_id or not state:
            continue  # job steps (123.batch) say nothing the job does not
        if values.get("reason") in ("None", "(null)"):
            values["reason"] = ""
        for one in _expand(job_id):
            found[one] = JobState(one, state[0], **values)  # "CANCELLED by 0": CANCELLED
    return found


def query_jobs(job_ids: Iterable[str]) -> dict[str, JobState]:
    """The states Slurm knows of these jobs: live and recent ones from squeue, older ones
    from accounting (sacct). Jobs neither knows are left out; SlurmUnavailable when squeue
    cannot be asked.

    Accounting is asked only of jobs the controller says it no longer holds: for a job
    Slurm has requeued, sacct's last record says PREEMPTED (or REQUEUED) for a few
    seconds while the job is already pending again, so its word on a job the controller
    could not be asked about would end a live run."""
    wanted = sorted(set(job_ids))
    found: dict[str, JobState] = {}
    if not wanted:
        return found
    queue = _run(["squeue", "-h", "-r", "--states=all", "-o", "%i|%T|%r|%l",
                  "-j", ",".join(wanted)])
    if queue.returncode == 0:
        found.update(_parse(queue.stdout, ("job_id", "state", "reason", "time_limit")))
    elif "Invalid job id" not in queue.stderr:  # all of them long gone is no error
        raise SlurmUnavailable(queue.stderr.strip() or f"squeue exited {queue.returncode}",
                               retry_after=CACHE_SECONDS)
    missing = [j for j in wanted if j not in found]
    if missing:
        try:
            acct = _run(["sacct", "-n", "-P", "-X", "-o", "JobID,State,Reason,ExitCode,Timelimit",
                         "-j", ",".join(missing)])
        except SlurmUnavailable:
            acct = None  # no accounting on this cluster: jobs squeue forgot are unknown
        if acct is not None and acct.returncode == 0:
            found.update(_parse(acct.stdout, ("job_id", "state", "reason", "exit_code",
                                              "time_limit")))
    return {k: v for k, v in found.items() if k in wanted}


class JobStateCache:
    """Job states, fetched in batches and kept for CACHE_SECONDS."""

    def __init__(self, query: Callable[[Iterable[str]], dict[str, JobState]] = query_jobs) -> None:
        self.query = query
        self.states: dict[str, tuple[float, JobState | None]] = {}
        self.down_until = 0.0
        self.down_message = ""

    def get(self, job_id: str, others: Callable[[], Iterable[str]] = tuple) -> JobState | None:
        """The state of `job_id`; on a miss, `others()` are fetched in the same call.
        None when Slurm does not know the job; SlurmUnavailable when it cannot be asked."""
        now = time.monotonic()
        hit = self.states.get(job_id)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        if now < self.down_until:
            raise SlurmUnavailable(self.down_message)
        batch = {job_id, *others()}
        try:
            found = self.query(batch)
        except SlurmUnavailable as err:
            self.down_until, self.down_message = now + err.retry_after, str(err)
            raise
        now = time.monotonic()
        for jid in batch:
            self.states[jid] = (now, found.get(jid))
        return found.get(job_id)

    def forget(self, job_id: str | None = None) -> None:
        if job_id is None:
            self.states.clear()
            self.down_until = 0.0
        else:
            self.states.pop(job_id, None)


CACHE = JobStateCache()
