"""Following runs from a terminal: one progress line, a line per finished run.

On a terminal the progress line redraws in place; into a pipe or a file, each
new step and each state change is one plain line. The follower looks again as soon as
a followed run's folder changes (a metrics line, a status replaced), so a step is shown,
and the command returns, as it happens; where folders cannot be watched it polls.
"""

from __future__ import annotations

import time
from typing import TextIO

from dltui.queue.control import stop_runs
from dltui.queue.scheduler import ensure_supervisor
from dltui.store import rundir as rd
from dltui.store.runs import RunInfo, RunStore, load_run
from dltui.system.figures import is_system_metric
from dltui.tracking.stream import MetricHistory
from dltui.views.listing import progress_of
from dltui.views.numbers import format_duration, format_value
from dltui.views.text import params_text
from dltui.watch import FolderWatch

LOOK_GAP = 0.1  # looks at least this far apart, however many lines the runs write
SAFETY_LOOK = 1.0  # and at most this far: the supervisor is checked, the ETA moves on


def _values_text(latest: dict[str, float | None], limit: int = 4) -> str:
    return " ".join(f"{k}={format_value(v)}" for k, v in list(latest.items())[:limit])


def describe(info: RunInfo, history: MetricHistory) -> str:
    progress = progress_of(info, history)
    parts = [f"{info.experiment} {params_text(info.spec.params, 40)}".strip(), info.state]
    if progress["step"] is not None:
        total = progress["total"]
        parts.append(f"step {format_value(progress['step'])}"
                     + (f"/{format_value(total)}" if total is not None else ""))
    if progress["eta"] is not None:
        parts.append(f"ETA {format_duration(progress['eta'])}")
    values = _values_text(progress["latest"])
    if values:
        parts.append(values)
    return "  ".join(parts)


def follow_runs(runs: list[rd.RunDir], *, store: RunStore, out: TextIO,
                stop_grace: float = 10.0, poll: float = 0.25) -> int:
    """Print progress until every run has ended; returns how many did not succeed.

    Ctrl-C stops the runs (queued ones are cancelled) before returning.
    """
    histories = {run.path: MetricHistory(run.metrics_file) for run in runs}
    finished: dict[object, RunInfo] = {}
    is_tty = out.isatty()
    last_line = ""
    last_steps: dict[object, object] = {}
    next_check = 0.0
    folders = FolderWatch()
    try:
        while len(finished) < len(runs):
            now = looked = time.monotonic()
            if now >= next_check:
                ensure_supervisor(store.root)
                next_check = now + 1.0
            current = None
            for run in runs:
                if run.path in finished:
                    continue
                info = load_run(run.path)
                if info is None:
                    continue
                history = histories[run.path]
                history.update()
                if info.is_final:
                    finished[run.path] = info
                    if is_tty and last_line:
                        out.write("\r\x1b[2K")
                        last_line = ""
                    out.write(_final_line(info, history) + "\n")
                    out.flush()
                    continue
                if info.state == rd.RUNNING and current is None:
                    current = (info, history)
                if not is_tty and info.state == rd.RUNNING and history.last_step is not None \
                        and last_steps.get(run.path) != history.last_step:
                    last_steps[run.path] = history.last_step
                    out.write(f"{info.run_id}  {describe(info, history)}\n")
                    out.flush()
            if is_tty and current is not None:
                line = f"[{len(finished)}/{len(runs)} done] {describe(*current)}"
                if line != last_line:
                    out.write("\r\x1b[2K" + line[:200])
                    out.flush()
                    last_line = line
            if len(finished) < len(runs):
                folders.watch([run.path for run in runs if run.path not in finished])
                folders.wait_apart(SAFETY_LOOK if folders.active else poll, looked=looked,
                                   gap=LOOK_GAP)
    except KeyboardInterrupt:
        if is_tty:
            out.write("\r\x1b[2K")
        out.write("stopping runs...\n")
        out.flush()
        pending = [i for i in (load_run(r.path) for r in runs if r.path not in finished) if i]
        for info in stop_runs(pending, grace=stop_grace):
            out.write(f"{info.ref}: {info.state}\n")
        return len(runs)
    finally:
        folders.close()
    return sum(info.state != rd.SUCCEEDED for info in finished.values())


def _final_line(info: RunInfo, history: MetricHistory) -> str:
    mark = {rd.SUCCEEDED: "done", rd.FAILED: "FAILED", rd.KILLED: "killed",
            rd.LOST: "LOST"}.get(info.state, info.state)
    took = format_duration(info.duration) if info.duration is not None else "-"
    latest = {name: series.last for name, series in history.series.items()
              if not is_system_metric(name)}
    text = f"{mark:6} {info.ref}  {params_text(info.spec.params, 40)}  {took}  " \
           f"{_values_text(latest, 6)}"
    if info.state != rd.SUCCEEDED:
        error = info.status.error
        text += (f"\n       {error or ''}; see `dltui logs {info.run_id}`, and "
                 f"`dltui requeue {info.run_id}` to continue it in place")
    return text.rstrip()
