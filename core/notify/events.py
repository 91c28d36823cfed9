"""The messages a run's wrapper sends: the run ended, its batch (a sweep) ended, its
metric went NaN or infinite.

The wrapper sends them because it is the one process that sees every run end on
every backend (a local subprocess, torchrun, a Slurm job on a compute node), while
the queue's supervisor may be gone and the dashboard closed. A sweep ends when the
last run of its launch batch ends: that run's wrapper finds no sibling still
queued or running and claims the batch's message with a file only one process can
create.
"""

from __future__ import annotations

import math
import os
import shlex
from pathlib import Path
from typing import Any

from dltui.notify.send import send
from dltui.notify.targets import run_urls
from dltui.procs import hostname
from dltui.store import rundir as rd
from dltui.store.results import best_run, best_value
from dltui.store.runs import RunInfo, RunStore
from dltui.views.numbers import format_duration, format_value

SENT_DIR = ".notify"  # in the runs directory: which batches have had their message
_WORDS = {rd.SUCCEEDED: "finished", rd.FAILED: "FAILED", rd.KILLED: "was stopped",
          "pruned": "was pruned", rd.TIMEOUT: "hit its time limit",
          rd.PREEMPTED: "was preempted", rd.LOST: "was lost"}


def look_command(runs_dir: Path, *args: str) -> str:
    """How to look from elsewhere: `ssh HOST -t dltui ARGS --runs RUNS_DIR`, HOST being
    where the run was launched from (a Slurm job's submit host, not its compute node)."""
    host = os.environ.get("SLURM_SUBMIT_HOST") or hostname()
    words = ["dltui", *args, "--runs", str(runs_dir)]
    return f"ssh {host} -t " + " ".join(shlex.quote(w) for w in words)


def run_message(info: RunInfo) -> tuple[str, str]:
    """(title, body) of the message that says how a run ended."""
    status = info.status
    word = _WORDS.get(info.state, info.state)
    title = f"dltui: {info.ref} {word}"
    lines = [f"{info.ref} {word} ({info.state}) on {status.host or hostname()}"
             + (f" after {format_duration(info.duration)}" if info.duration else "")]
    if status.error:
        lines.append(f"error: {status.error}")
    metric = info.spec.metric
    found = status.metrics.get(metric) if metric else None
    if isinstance(found, dict):
        lines.append(f"{metric}: best {format_value(found.get('best'))}, "
                     f"last {format_value(found.get('last'))}")
    peaks = status.sys_peaks
    if peaks:
        lines.append("peak use: " + ", ".join(f"{k} {format_value(v)}"
                                              for k, v in list(peaks.items())[:4]))
    root = info.dir.runs_root
    lines.append("look: " + look_command(root, "logs", info.ref))
    return title, "\n".join(lines)


def batch_message(runs: list[RunInfo]) -> tuple[str, str]:
    """(title, body) of the message that says a launch batch (a sweep) has ended."""
    experiments = list(dict.fromkeys(info.experiment for info in runs))
    counts: dict[str, int] = {}
    for info in runs:
        counts[info.state] = counts.get(info.state, 0) + 1
    tally = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    name = ", ".join(experiments)
    title = f"dltui: sweep {name} ended ({tally})"
    lines = [f"sweep {name}: {len(runs)} runs, {tally}"]
    best = _best_run(runs)
    if best is not None:
        info, value = best
        lines.append(f"best {info.spec.metric}: {format_value(value)} ({info.ref})")
    root = runs[0].dir.runs_root
    lines.append("look: " + look_command(root, "compare", *experiments))
    return title, "\n".join(lines)


def _best_run(runs: list[RunInfo]) -> tuple[RunInfo, float] | None:
    succeeded = [r for r in runs if r.state == rd.SUCCEEDED]  # a failed run's is no result
    best = best_run(succeeded)
    value = best_value(best) if best is not None else None
    return None if best is None or value is None else (best, value)


def notify_run_ended(run: rd.RunDir) -> None:
    """After the run's final status is written: its message, and its batch's when it
    was the batch's last run. Never raises: a message is not worth a failed run."""
    try:
        _notify_run_ended(run)
    except Exception as err:  # the run's result is on disk already; say why, go on
        from dltui.notify.send import log_line

        log_line(run.runs_root, f"not sent ({run.experiment}/{run.run_id}): {err!r}")


def _notify_run_ended(run: rd.RunDir) -> None:
    from dltui.store.runs import load_run

    info = load_run(run.path)
    if info is None:
        return
    urls = run_urls(info.spec, info.status)
    if not urls:
        return
    root = run.runs_root
    title, body = run_message(info)
    send(urls, title=title, body=body, failed=info.state != rd.SUCCEEDED, runs_dir=root,
         about=f"{info.ref} {info.state}")
    batch = info.status.batch
    if not batch:
        return
    store = RunStore(root)
    if any(other.status.batch == batch for other in store.active()):
        return
    siblings = [other for other in store.runs() if other.status.batch == batch]
    if len(siblings) < 2 or not _claim(root, str(batch)):
        return
    title, body = batch_message(siblings)
    send(urls, title=title, body=body, failed=any(s.state != rd.SUCCEEDED for s in siblings),
         runs_dir=root, about=f"batch {batch}")


def _claim(root: Path, batch: str) -> bool:
    """True for the one process that creates the batch's sent-marker."""
    folder = root / SENT_DIR
    folder.mkdir(exist_ok=True)
    try:
        os.close(os.open(folder / batch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except FileExistsError:
        return False
    return True


class NonFiniteWatch:
    """Sends one message the first time a run logs NaN or infinity for its metric (or,
    with no metric declared, for a metric whose name says loss)."""

    def __init__(self, run: rd.RunDir, spec: rd.RunSpec) -> None:
        self.run = run
        self.spec = spec
        self.sent = False

    def watches(self, key: str) -> bool:
        return key == self.spec.metric if self.spec.metric else "loss" in key.lower()

    def __call__(self, records: list[dict[str, Any]]) -> None:
        if self.sent:
            return
        for record in records:
            for key, value in record.items():
                if (self.watches(key) and isinstance(value, float)
                        and not math.isfinite(value)):
                    self._send(key, value, record.get("step"))
                    return

    def _send(self, key: str, value: float, step: Any) -> None:
        self.sent = True
        status = self.run.status()
        urls = run_urls(self.spec, status)
        if not urls:
            return
        ref = f"{self.run.experiment}/{self.run.run_id}"
        root = self.run.runs_root
        body = (f"{ref} logged {key} = {value} at step {format_value(step)}; it is still "
                f"running\nlook: {look_command(root, 'logs', ref)}\n"
                f"stop it: {look_command(root, 'stop', ref)}")
        send(urls, title=f"dltui: {ref} logged {key} = {value}", body=body, failed=True,
             runs_dir=root, about=f"{ref} {key}={value}")
