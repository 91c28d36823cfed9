"""Engine figures: log()-to-readable latency, CLI start-up, compare over 10,000 runs,
the cost of one log() next to TensorBoard's SummaryWriter.add_scalar, and the poll of
a queue 1,000 runs long.

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


def bench_log_cost(root: Path, count: int = 20000) -> None:
    from dltui.tracking.run import Run

    spec = rd.RunSpec(run_id="cost", experiment="bench", argv=[], params={}, cwd=str(root))
    run = Run(rd.create_run_dir(root, spec, state=rd.RUNNING), owns_status=False)
    start = time.perf_counter()
    for step in range(count):
        run.log({"loss": 0.5}, step=step)
    ours = (time.perf_counter() - start) / count
    run.finish()
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        print(f"one log(): {ours * 1e6:.1f} us (torch not installed: no SummaryWriter to "
              "compare)")
        return
    writer = SummaryWriter(str(root / "sw"))
    start = time.perf_counter()
    for step in range(count):
        writer.add_scalar("loss", 0.5, step)
    theirs = (time.perf_counter() - start) / count
    writer.close()
    print(f"one log() (metrics line + TensorBoard event): {ours * 1e6:.1f} us; "
          f"SummaryWriter.add_scalar: {theirs * 1e6:.1f} us ({ours / theirs:.2f}x)")


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10000)
    args = parser.parse_args()
    dltui = str(Path(sys.executable).with_name("dltui"))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bench_log_latency(root / "latency")
        bench_log_cost(root / "cost")
        bench_queue_poll(root / "queued")
        print(f"dltui --help: {wall([dltui, '--help'], root) * 1000:.0f} ms (median of 7)")
        many = root / "many"
        start = time.perf_counter()
        make_finished_runs(many / "runs", args.runs)
        print(f"made {args.runs} finished runs in {time.perf_counter() - start:.1f} s")
        print(f"dltui ps: {wall([dltui, 'ps', '--runs', 'runs'], many) * 1000:.0f} ms; "
              f"dltui ps --all over {args.runs} runs: "
              f"{wall([dltui, 'ps', '--all', '--runs', 'runs'], many, 3) * 1000:.0f} ms")
        selection = [f"sweep{i}" for i in range(10)]
        took = wall([dltui, "compare", *selection, "--all-runs", "--runs", "runs",
                     "--format", "csv"], many, 3)
        out = subprocess.run([dltui, "compare", *selection, "--all-runs", "--runs", "runs",
                              "--format", "json"], cwd=many, capture_output=True, text=True,
                             check=True).stdout
        print(f"dltui compare over {len(json.loads(out))} finished runs: {took * 1000:.0f} ms "
              "(median of 3, whole process)")
    os.environ.pop("DLTUI_RUN_DIR", None)


if __name__ == "__main__":
    main()
