"""The wrapper around one run's process: `python -m dltui.queue.runner RUN_DIR`, or
forked from the queue's supervisor (`dltui.queue.detached`).

It starts the command with the run's environment, copies its output to
output.log, turns `key: value` lines into metrics when the script does not use
the tracking API, and records how the process ended. It runs in its own session
and process group together with the command, so that a stop reaches both and a
closed terminal reaches neither.
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from dltui.backends import Backend, get_backend
from dltui.integrations.bootstrap_path import with_bootstrap
from dltui.notify.events import NonFiniteWatch, notify_run_ended
from dltui.procs import hostname, process_start_ticks
from dltui.snapshots.execute import ChildStart, SnapshotError, plan_child, record_child
from dltui.store import rundir as rd
from dltui.store.status import RunStatus
from dltui.system.sampler import start_sampler
from dltui.tracking.capture import OutputCapture, StdoutMetrics
from dltui.tracking.follower import StreamFollower
from dltui.tracking.run import FOLLOWED_ENV, RUN_DIR_ENV, RUNS_DIR_ENV

_NEEDS_PLACEHOLDER = re.compile(r"\{needs\.([A-Za-z0-9_.+-]+)\}")


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the wrapper dies, so no training is orphaned."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def build_env(run: rd.RunDir, spec: rd.RunSpec, status: RunStatus) -> dict[str, str]:
    env = dict(os.environ)
    env.update(spec.env)
    env[RUN_DIR_ENV] = str(run.path)
    env[RUNS_DIR_ENV] = str(run.runs_root)
    env[FOLLOWED_ENV] = "1"  # this wrapper writes the TensorBoard files
    env["PYTHONUNBUFFERED"] = "1"
    if spec.autolog:  # framework integrations attach in the script's interpreter
        env["PYTHONPATH"] = with_bootstrap(env.get("PYTHONPATH"))
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
        start = plan_child(run.path, snapshot_id=spec.snapshot, cwd=spec.cwd, argv=argv,
                           env=env)
    except SnapshotError as err:
        with open(run.log_file, "ab") as missing_log:
            missing_log.write(f"dltui: {err}\n".encode())
        run.end(rd.FAILED, exit_code=2, error=str(err))
        return 2
    argv, env = start.argv, start.env
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
    output = OutputCapture(run.log_file)
    if output.had_output:  # requeued in place: say where this attempt's output begins
        output.write(restart_line(status, backend))
    try:
        # The child writes into the log itself: printing never waits for this process.
        child = subprocess.Popen(argv, cwd=spec.cwd, env=env, stdin=subprocess.DEVNULL,
                                 stdout=output.file, stderr=subprocess.STDOUT,
                                 preexec_fn=_die_with_parent)
    except OSError as err:
        record_child(run.path, start, given=spec.env)
        message = f"cannot start {argv[0]!r}: {err.strerror or err}"
        output.write(f"dltui: {message}\n")
        output.finish()
        parser.close()
        run.end(rd.FAILED, exit_code=127, error=message)
        notify_run_ended(run)
        return 127
    run.write_status(child_pid=child.pid)
    if stop_signals or run.stop_requested():  # stopped while the command was starting
        on_signal(signal.SIGTERM, None)
    sampler = start_sampler(run.metrics_file, child.pid, gpu_ids=status.gpu_ids,
                            on_nonfinite=NonFiniteWatch(run, spec))
    parser = backend.output_lines(parser)  # torchrun: rank 0's lines are the run's metrics
    output.start(parser.feed)
    follower = StreamFollower(run).start()  # TensorBoard and the summary, off the child's path
    recording = _record_environment(run, start, spec.env)  # last: the other threads first
    exit_code = child.wait()
    recording.join()
    sys_peaks = sampler.stop()
    output.finish()
    try:
        parser.close()
    except OSError:
        pass  # a full disk: said below
    stopped = bool(stop_signals) or run.stop_requested()
    state = final_state(exit_code, stopped)
    error = None
    if state == rd.FAILED:
        error = (f"killed by signal {signal.Signals(-exit_code).name}" if exit_code < 0
                 else f"exited with code {exit_code}")
    if _disk_is_full(run.path):
        error = (f"{error + '; ' if error else ''}the disk holding {run.path} is full (No space "
                 "left on device); the end of its output may not have been saved")
    run.end(state, exit_code=exit_code, error=error, sys_peaks=sys_peaks,
            **follower.finish())
    notify_run_ended(run)
    return 0 if exit_code == 0 else 1


def _record_environment(run: rd.RunDir, start: ChildStart,
                        given: dict[str, str]) -> threading.Thread:
    """Write the run's environment record on a thread of the lowest priority, while the
    child starts: the child never waits for it. Join it before the run's end."""
    def record() -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        except (AttributeError, OSError):
            pass
        record_child(run.path, start, given=given)

    thread = threading.Thread(target=record, name="dltui-environment", daemon=True)
    thread.start()
    return thread


def _disk_is_full(path: Path) -> bool:
    """Less than a megabyte left where the run writes: its files cannot grow."""
    try:
        disk = os.statvfs(path)
    except OSError:
        return False
    return disk.f_bavail * disk.f_frsize < 1 << 20


def wrap(run_path: Path) -> int:
    """The wrapper's life for the run at `run_path`, in this process: a fresh interpreter
    (`main`) or a fork of the queue's supervisor. Its exit code."""
    return run_wrapped(rd.RunDir(run_path.resolve()))


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m dltui.queue.runner RUN_DIR")
    sys.exit(wrap(Path(sys.argv[1])))


if __name__ == "__main__":
    main()
