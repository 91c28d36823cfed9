"""The wrapper around one run's process: `python -m dltui.queue.runner RUN_DIR`.

It starts the command with the run's environment, copies its output to
output.log, turns `key: value` lines into metrics when the script does not use
the tracking API, and records how the process ended. It runs in its own session
and process group together with the command, so that a stop reaches both and a
closed terminal reaches neither.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from dltui.backends import Backend, get_backend
from dltui.notify.events import NonFiniteWatch, notify_run_ended
from dltui.procs import hostname, process_start_ticks
from dltui.snapshots.execute import SnapshotError, prepare_child
from dltui.store import rundir as rd
from dltui.store.status import RunStatus
from dltui.system.sampler import start_sampler
from dltui.tracking.replay import EarlierAttempts
from dltui.tracking.run import RUN_DIR_ENV, RUNS_DIR_ENV
from dltui.tracking.stdout_metrics import parse_line
from dltui.tracking.stream import MetricHistory, summarize

_NEEDS_PLACEHOLDER = re.compile(r"\{needs\.([A-Za-z0-9_.+-]+)\}")


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the wrapper dies, so no training is orphaned."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class StdoutMetrics:
    """Metrics of an uninstrumented script, parsed from its output lines."""

    def __init__(self, run: rd.RunDir) -> None:
        self.run = run
        self.step: int | None = None
        self.count = 0
        self._file: Any = None
        self._events: Any = None
        self._tracked = False
        self._earlier = EarlierAttempts(run.metrics_file)

    def feed(self, line: str) -> None:
        parsed = parse_line(line)
        if parsed.step is not None:
            self.step = parsed.step
        if not parsed.values and parsed.total is None:
            return
        # Once the script reports through the API, its prints are only prints (and the
        # marker never goes away: one stat per metric line until then, none after).
        self._tracked = self._tracked or (self.run.path / rd.TRACKED_FILE).exists()
        if self._tracked:
            return
        step = self.step if self.step is not None else self.count
        self.count += 1
        values = self._earlier.new_values(step, parsed.values)
        if not values and parsed.total is None:
            return  # logged by an earlier attempt of this requeued run
        record: dict[str, Any] = {"step": step, "time": round(time.time(), 3), **values}
        if parsed.total is not None:
            record["_total"] = parsed.total
        if self._file is None:
            self._file = open(self.run.metrics_file, "a", encoding="utf-8")  # noqa: SIM115
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
        if values:
            if self._events is None:
                from dltui.tracking.tbwriter import EventWriter

                self._events = EventWriter(self.run.tb_dir)
            self._events.scalars(values, step)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        if self._events is not None:
            self._events.close()


def build_env(run: rd.RunDir, spec: rd.RunSpec, status: RunStatus) -> dict[str, str]:
    env = dict(os.environ)
    env.update(spec.env)
    env[RUN_DIR_ENV] = str(run.path)
    env[RUNS_DIR_ENV] = str(run.runs_root)
    env["PYTHONUNBUFFERED"] = "1"
    gpu_ids = status.gpu_ids
    if gpu_ids is not None:
        # An empty list hides every GPU: a CPU run must not grab one.
        env["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in gpu_ids)
    return env


def fill_needs(argv: list[str], needs: dict[str, str]) -> list[str]:
    return [_NEEDS_PLACEHOLDER.sub(lambda m: needs.get(m.group(1), m.group(0)), arg)
            for arg in argv]


def final_state(exit_code: int, stop_requested: bool) -> str:
    if exit_code == 0:
        return rd.SUCCEEDED
    return rd.KILLED if stop_requested else rd.FAILED


def metric_summary(run: rd.RunDir, spec: rd.RunSpec) -> dict[str, Any]:
    history = MetricHistory(run.metrics_file)
    history.update()
    modes = {spec.metric: spec.mode} if spec.metric else {}
    return {"metrics": summarize(history, mode_of=modes), "last_step": history.last_step,
            "total": history.total}


def restart_line(status: RunStatus, backend: Backend) -> str:
    """The log line between an earlier attempt's output and this one's."""
    why = [f"attempt {status.attempt}", *backend.restart_notes(status)]
    when = time.strftime("%Y-%m-%d %H:%M:%S")
    return f"\ndltui: {when} the run starts again ({', '.join(why)})\n"


def run_wrapped(run: rd.RunDir) -> int:
    spec = run.spec()
    if spec is None:
        print(f"dltui.queue.runner: {run.path} has no run.json", file=sys.stderr)
        return 2
    status = run.status()
    if status.state in rd.FINAL_STATES or status.state == rd.DAMAGED:
        return 0  # cancelled between the scheduler's decision and this start
    if run.stop_requested():  # a stop that came while the run was starting wins
        run.end(rd.KILLED, error="stopped before it started")
        return 0
    backend = get_backend(spec.backend)
    env = build_env(run, spec, status)
    argv = fill_needs(list(spec.argv), status.needs)
    try:  # the code queued, never the live tree: a missing snapshot fails the run
        argv, env = prepare_child(run.path, snapshot_id=spec.snapshot, cwd=spec.cwd, argv=argv,
                                  env=env, given=spec.env)
    except SnapshotError as err:
        with open(run.log_file, "ab") as missing_log:
            missing_log.write(f"dltui: {err}\n".encode())
        run.end(rd.FAILED, exit_code=2, error=str(err))
        return 2
    argv = backend.command(argv, spec, run.path)
    pid = os.getpid()
    run.reserve_status_space()
    run.write_status(state=rd.RUNNING, pid=pid, pid_start=process_start_ticks(pid),
                     pgid=os.getpgid(0), host=hostname(), started_at=time.time(), argv=argv)
    stop_signals: list[int] = []
    child: subprocess.Popen[bytes] | None = None

    def on_signal(signum: int, _frame: Any) -> None:
        stop_signals.append(signum)
        if child is not None and child.poll() is None:
            try:  # the group got it already if the group was signalled; harmless twice
                child.send_signal(signum)
            except ProcessLookupError:
                pass

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, on_signal)
    parser: Any = StdoutMetrics(run)  # before the child can append to the metrics
    log = open(run.log_file, "ab", buffering=0)  # noqa: SIM115
    if log.tell() > 0:  # requeued in place: say where this attempt's output begins
        log.write(restart_line(status, backend).encode())
    try:
        child = subprocess.Popen(argv, cwd=spec.cwd, env=env, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 preexec_fn=_die_with_parent)
    except OSError as err:
        message = f"cannot start {argv[0]!r}: {err.strerror or err}"
        log.write(f"dltui: {message}\n".encode())
        log.close()
        run.end(rd.FAILED, exit_code=127, error=message)
        notify_run_ended(run)
        return 127
    run.write_status(child_pid=child.pid)
    if stop_signals or run.stop_requested():  # stopped while the command was starting
        on_signal(signal.SIGTERM, None)
    sampler = start_sampler(run.metrics_file, child.pid, gpu_ids=status.gpu_ids,
                            on_nonfinite=NonFiniteWatch(run, spec))
    parser = backend.output_lines(parser)  # torchrun: rank 0's lines are the run's metrics
    assert child.stdout is not None
    pending = b""
    disk_full: OSError | None = None
    fd = child.stdout.fileno()
    while True:
        try:
            chunk = os.read(fd, 65536)
        except InterruptedError:
            continue
        if not chunk:
            break
        if disk_full is not None:
            continue  # nothing can be saved: keep reading, so that the command never blocks
        try:
            log.write(chunk)
            pending += chunk
            *lines, pending = re.split(rb"[\r\n]", pending)
            for line in lines:
                if line:
                    parser.feed(line.decode("utf-8", "replace"))
            if len(pending) > 1 << 20:  # a megabyte with no line break is not a metrics line
                pending = b""
        except OSError as err:
            disk_full = err
    try:
        if pending and disk_full is None:
            parser.feed(pending.decode("utf-8", "replace"))
    except OSError as err:
        disk_full = err
    exit_code = child.wait()
    sys_peaks = sampler.stop()
    try:
        parser.close()
        log.close()
    except OSError as err:
        disk_full = disk_full or err
    stopped = bool(stop_signals) or run.stop_requested()
    state = final_state(exit_code, stopped)
    error = None
    if state == rd.FAILED:
        error = (f"killed by signal {signal.Signals(-exit_code).name}" if exit_code < 0
                 else f"exited with code {exit_code}")
    if disk_full is not None or _disk_is_full(run.path):
        why = disk_full.strerror if disk_full is not None else "No space left on device"
        error = (f"{error + '; ' if error else ''}the disk holding {run.path} is full ({why}); "
                 "the end of its output was not saved")
    run.end(state, exit_code=exit_code, error=error, sys_peaks=sys_peaks,
            **metric_summary(run, spec))
    notify_run_ended(run)
    return 0 if exit_code == 0 else 1


def _disk_is_full(path: Path) -> bool:
    try:
        return os.statvfs(path).f_bavail == 0
    except OSError:
        return False


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m dltui.queue.runner RUN_DIR")
    sys.exit(run_wrapped(rd.RunDir(Path(sys.argv[1]).resolve())))


if __name__ == "__main__":
    main()
