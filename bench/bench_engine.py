"""Engine figures, each beside its anchor in the same run: log()-to-readable latency; one
log() (and ten scalars in one) next to a bare JSON line written and flushed and to
TensorBoard's SummaryWriter.add_scalar, with the wrapper's conversion read back by
TensorBoard's reader; the wrapper's peak memory over 1,000 and 100,000 records; the
poll of a queue 1,000 runs long; CLI start-up; `ps`, `ps --all` and `compare` over
10,000 runs next to a bare python start and a bare read of the same files.

    .venv/bin/python bench/bench_engine.py [--runs 10000]

Prints figures; asserts nothing (these machines are shared and noisy).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dltui.store import rundir as rd
from dltui.tracking.stream import MetricTail

WRITER = """
import sys, time
from dltui.store import rundir as rd
from dltui.tracking.run import Run
run = Run(rd.RunDir(sys.argv[1]), owns_status=False)
for step in range(int(sys.argv[2])):
    run.log({"loss": 1.0 / (step + 1), "sent": time.time()}, step=step)
    time.sleep(0.01)
run.finish()
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_log_latency(root: Path, count: int = 300, poll: float = 0.01) -> None:
    spec = rd.RunSpec(run_id="latency", experiment="bench", argv=[], params={}, cwd=str(root))
    run = rd.create_run_dir(root, spec, state=rd.RUNNING)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(run.path), str(count)])
    tail = MetricTail(run.metrics_file)
    delays: list[float] = []
    while len(delays) < count:
        for record in tail.read_new():
            delays.append(time.time() - record["sent"])
        if writer.poll() is not None and len(delays) < count:
            delays.extend(time.time() - r["sent"] for r in tail.read_new())
            break
        time.sleep(poll)
    writer.wait()
    ms = [d * 1000 for d in delays]
    print(f"log() to readable by another process (reader polling every {poll * 1000:.0f} ms): "
          f"p50 {percentile(ms, 0.5):.1f} ms, p95 {percentile(ms, 0.95):.1f} ms, "
          f"max {max(ms):.1f} ms over {len(ms)} values")


def _rounds(measures: dict[str, object], rounds: int = 5) -> dict[str, float]:
    """Each measure's median over `rounds`, the measures interleaved within each round."""
    taken: dict[str, list[float]] = {name: [] for name in measures}
    for _ in range(rounds):
        for name, measure in measures.items():
            taken[name].append(measure())  # type: ignore[operator]
    return {name: statistics.median(values) for name, values in taken.items()}


def bench_log_cost(root: Path, count: int = 20000) -> None:
    """One log() beside a bare JSON line written and flushed, and beside SummaryWriter;
    then the follower (the run wrapper's thread) writes the events, read back complete."""
    from dltui.tracking.follower import StreamFollower
    from dltui.tracking.run import Run

    one = {"loss": 0.5}
    ten = {f"metric_{i}": 0.5 + i for i in range(10)}
    made = iter(range(10**6))

    def new_run() -> rd.RunDir:
        spec = rd.RunSpec(run_id=f"cost{next(made)}", experiment="bench", argv=[], params={},
                          cwd=str(root))
        return rd.create_run_dir(root, spec, state=rd.RUNNING)

    def bare(values: dict[str, float]) -> float:
        with open(new_run().metrics_file, "a", encoding="utf-8") as out:
            start = time.perf_counter()
            for step in range(count):
                out.write(json.dumps({"step": step, "time": time.time(), **values}) + "\n")
                out.flush()
            return (time.perf_counter() - start) / count

    followed: list[rd.RunDir] = []

    def ours(values: dict[str, float], *, by_hand: bool = False) -> float:
        run_dir = new_run()
        run = Run(run_dir, owns_status=False, followed=not by_hand)
        start = time.perf_counter()
        for step in range(count):
            run.log(values, step=step)
        took = (time.perf_counter() - start) / count
        run.finish()
        followed.append(run_dir)
        return took

    measures: dict[str, object] = {
        "bare": lambda: bare(one), "ours": lambda: ours(one),
        "hand": lambda: ours(one, by_hand=True),
        "bare10": lambda: bare(ten), "ours10": lambda: ours(ten)}
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        SummaryWriter = None  # noqa: N806
    if SummaryWriter is not None:
        def summary_writer(values: dict[str, float]) -> float:
            writer = SummaryWriter(str(root / f"sw{next(made)}"))
            start = time.perf_counter()
            for step in range(count):
                for tag, value in values.items():
                    writer.add_scalar(tag, value, step)
            took = (time.perf_counter() - start) / count
            writer.close()
            return took

        measures["sw"] = lambda: summary_writer(one)
        measures["sw10"] = lambda: summary_writer(ten)
    got = _rounds(measures)
    us = {name: value * 1e6 for name, value in got.items()}
    sw = f"; SummaryWriter.add_scalar {us['sw']:.1f} us" if "sw" in us else ""
    sw10 = f"; 10x add_scalar {us['sw10']:.1f} us" if "sw10" in us else ""
    print(f"one log() under dltui run: {us['ours']:.1f} us; bare json line + write + flush "
          f"{us['bare']:.1f} us ({us['ours'] / us['bare']:.2f}x the bare write){sw}")
    print(f"one log() in a script started by hand (events on its own thread): "
          f"{us['hand']:.1f} us ({us['hand'] / us['bare']:.2f}x)")
    print(f"ten scalars in one log(): {us['ours10']:.1f} us; bare {us['bare10']:.1f} us "
          f"({us['ours10'] / us['bare10']:.2f}x){sw10}")
    # What the run wrapper does with the stream of the last followed run: its events,
    # read back with TensorBoard's own reader.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir = followed[-1]
    start = time.perf_counter()
    StreamFollower(run_dir).stop()
    converted = time.perf_counter() - start
    acc = EventAccumulator(str(run_dir.tb_dir), size_guidance={"scalars": 0})
    acc.Reload()
    events = len(acc.Scalars("metric_0"))
    print(f"the wrapper's follower: {converted / count * 1e6:.1f} us a record, off the training "
          f"process; TensorBoard reads {events} of {count} values back")


LONG_RUN = """
import dltui
run = dltui.init()
for step in range({records}):
    run.log({{"loss": 1.0 / (step + 1), "acc": step / {records}}}, step=step)
"""
# The process's peak memory (VmHWM: unlike ru_maxrss, not inherited across exec from a
# large parent such as this bench).
PEAK_MB = """
def peak_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) // 1024 for line in status
                    if line.startswith("VmHWM:"))
"""
# The runner in this interpreter, telling its own peak memory when it exits.
PEAK_OF_RUNNER = PEAK_MB + """
import runpy, sys
sys.argv = ["runner", sys.argv[1]]
try:
    runpy.run_module("dltui.queue.runner", run_name="__main__")
finally:
    print(peak_mb(), file=sys.stderr)
"""


def runner_peak_mb(root: Path, records: int, again: bool = False) -> tuple[int, int]:
    """The run wrapper's peak memory over a run logging `records` records (`again`: a
    second attempt of the same run, which reads the first's stream), and how many
    records its status counts."""
    code = LONG_RUN.format(records=records)
    spec = rd.RunSpec(run_id=f"long{records}", experiment="long", cwd=str(root),
                      argv=[sys.executable, "-c", code], params={})
    if again:
        run = rd.RunDir(root / "long" / spec.run_id)
        run.write_status(state=rd.STARTING)
    else:
        run = rd.create_run_dir(root, spec, state=rd.STARTING)
    done = subprocess.run([sys.executable, "-c", PEAK_OF_RUNNER, str(run.path)],
                          capture_output=True, text=True, check=True)
    counted = run.status().metrics.get("loss", {}).get("count", 0)
    return int(done.stderr.strip().splitlines()[-1]), counted


def bench_runner_memory(root: Path) -> None:
    plain = subprocess.run([sys.executable, "-c", PEAK_MB + "print(peak_mb())"],
                           capture_output=True, text=True, check=True).stdout.strip()
    short, long = (runner_peak_mb(root, records) for records in (1_000, 100_000))
    again = runner_peak_mb(root, 100_000, again=True)  # replays: every value dropped
    print(f"run wrapper's peak memory: {short[0]} MB at 1,000 records, {long[0]} MB at "
          f"100,000 ({long[1]} counted), {again[0]} MB for a second attempt over them; "
          f"a bare python interpreter {plain} MB")


def wall(argv: list[str], cwd: Path, repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def make_finished_runs(root: Path, count: int) -> None:
    """`count` finished runs in the real format, as a long sweep would leave them."""
    for index in range(count):
        spec = rd.RunSpec(run_id=f"20260101-000000-{index:05d}", experiment=f"sweep{index % 10}",
                          # Not `seed`: compare would fold seeds into mean ± std rows.
                          argv=["python", "train.py"], params={"lr": 10 ** -(index % 4),
                                                               "run_index": index},
                          cwd=str(root), metric="val_acc", mode="max")
        path = root / spec.experiment / spec.run_id
        path.mkdir(parents=True)
        rd.write_json_atomic(path / rd.RUN_FILE, spec.to_json())
        rd.write_json_atomic(path / rd.STATUS_FILE, {
            "state": rd.SUCCEEDED, "exit_code": 0, "started_at": 1.0, "ended_at": 61.0,
            "metrics": {"val_acc": {"last": index / count, "best": index / count, "count": 15},
                        "train_loss": {"last": 1 - index / count, "best": 0.1, "count": 15}}})


def bench_queue_poll(root: Path, count: int = 1000) -> None:
    """What the dashboard and the supervisor pay, several times a second, with a big
    sweep queued: one `RunStore.active()` over `count` queued runs."""
    from dltui.store.active import mark_active
    from dltui.store.runs import RunStore

    for index in range(count):
        spec = rd.RunSpec(run_id=f"20260101-000000-{index:05d}", experiment="sweep",
                          argv=["python", "train.py"], params={"lr": index}, cwd=str(root))
        run = rd.create_run_dir(root, spec, state=rd.QUEUED, queued_at=float(index),
                                queue_order=float(index))
        mark_active(root, run.path)
    store = RunStore(root)
    first = time.perf_counter()
    store.active()
    first = time.perf_counter() - first
    polls = []
    for _ in range(20):
        start = time.perf_counter()
        store.active()
        polls.append(time.perf_counter() - start)
    print(f"active runs over {count} queued: first read {first * 1000:.0f} ms, "
          f"each poll after {statistics.median(polls) * 1000:.1f} ms (median of 20)")


# What any tool listing these runs must do at the least, cold: read each run's two files.
READ_EVERY_RUN = """
import json, os, sys
for experiment in os.scandir(sys.argv[1]):
    if experiment.is_dir() and not experiment.name.startswith("."):
        for run in os.scandir(experiment.path):
            if run.is_dir() and not run.name.startswith("."):
                for name in ("run.json", "status.json"):
                    with open(os.path.join(run.path, name), "rb") as src:
                        json.loads(src.read())
"""
# ... and once an index exists: read it (one file an experiment).
READ_EVERY_INDEX = """
import glob, json, sys
for path in glob.glob(sys.argv[1] + "/*/.finished.json"):
    with open(path, "rb") as src:
        json.loads(src.read())
"""


def once(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, capture_output=True, check=True)
    return time.perf_counter() - start


def bench_listings(dltui: str, many: Path, count: int) -> None:
    """`ps`, `ps --all` and `compare` as whole processes, first (no index yet) and after,
    beside a bare python start and a bare read of the same files."""
    runs = str(many / "runs")
    python = wall([sys.executable, "-c", "pass"], many)
    bare_cold = wall([sys.executable, "-c", READ_EVERY_RUN, runs], many, 3)
    first_ps = once([dltui, "ps", "--all", "--runs", "runs"], many)  # builds the index
    bare_warm = wall([sys.executable, "-c", READ_EVERY_INDEX, runs], many)
    ps = wall([dltui, "ps", "--runs", "runs"], many)
    ps_all = wall([dltui, "ps", "--all", "--runs", "runs"], many, 5)
    print(f"dltui ps (nothing running): {ps * 1000:.0f} ms; python -c pass {python * 1000:.0f} ms")
    print(f"dltui ps --all over {count} runs: {ps_all * 1000:.0f} ms (median of 5; the first, "
          f"building the index, {first_ps * 1000:.0f} ms); bare python reading every index "
          f"{bare_warm * 1000:.0f} ms, every run's two files {bare_cold * 1000:.0f} ms")
    selection = [f"sweep{i}" for i in range(10)]
    argv = [dltui, "compare", *selection, "--all-runs", "--runs", "runs", "--format", "json"]
    took = wall(argv, many, 5)
    out = subprocess.run(argv, cwd=many, capture_output=True, text=True, check=True).stdout
    print(f"dltui compare over {len(json.loads(out))} finished runs, JSON: {took * 1000:.0f} ms "
          f"(median of 5, whole process); bare python reading every index "
          f"{bare_warm * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10000)
    args = parser.parse_args()
    # As installed, modules load from bytecode: with this set, every edited module would
    # be compiled again by each command timed.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    dltui = str(Path(sys.executable).with_name("dltui"))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bench_log_latency(root / "latency")
        bench_log_cost(root / "cost")
        bench_runner_memory(root / "memory")
        bench_queue_poll(root / "queued")
        print(f"dltui --help: {wall([dltui, '--help'], root) * 1000:.0f} ms (median of 7)")
        many = root / "many"
        start = time.perf_counter()
        make_finished_runs(many / "runs", args.runs)
        print(f"made {args.runs} finished runs in {time.perf_counter() - start:.1f} s")
        bench_listings(dltui, many, args.runs)
    os.environ.pop("DLTUI_RUN_DIR", None)


if __name__ == "__main__":
    main()
