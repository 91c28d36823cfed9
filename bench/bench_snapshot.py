"""Snapshot figures: the code snapshot a launch takes of a real git work tree (this
project's), first and again with the same content; the environment record of a run;
`dltui ps --all` with disk use over many runs, measured once and then from the cache.

    .venv/bin/python bench/bench_snapshot.py [--runs 10000]

Prints figures; asserts nothing (these machines are shared and noisy).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_engine import make_finished_runs, wall

from dltui.snapshots.environment import describe_interpreter
from dltui.snapshots.store import take_snapshot
from dltui.snapshots.tree import Limits

PROJECT = Path(__file__).resolve().parent.parent


def median_ms(action: object, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        runs = root / "runs"
        argv = [sys.executable, "train.py"]
        limits = Limits(max_total_bytes=200 * 1024 * 1024)
        start = time.perf_counter()
        first = take_snapshot(cwd=PROJECT, argv=argv, runs_dir=runs, limits=limits)
        took = (time.perf_counter() - start) * 1000
        assert first is not None
        print(f"snapshot of {PROJECT.name} ({first.file_count} files, "
              f"{first.total_bytes / 1e6:.1f} MB, {len(first.left_out)} left out): first "
              f"{took:.0f} ms")
        again = median_ms(lambda: take_snapshot(cwd=PROJECT, argv=argv, runs_dir=runs,
                                                limits=limits))
        print(f"the same content again (hashed, found stored, nothing copied): {again:.0f} ms "
              "(median of 5); a sweep's runs share the launch's one snapshot")
        inside = median_ms(lambda: describe_interpreter(sys.executable))
        other = os.path.realpath(sys.executable)  # the base interpreter: asked in a process
        outside = median_ms(lambda: describe_interpreter(other), 3)
        print(f"environment record, packages of this interpreter: {inside:.0f} ms; of another "
              f"one, asked in its own process: {outside:.0f} ms (medians)")
        many = root / "many"
        make_finished_runs(many / "runs", args.runs)
        dltui = str(Path(sys.executable).with_name("dltui"))
        measured = wall([dltui, "ps", "--all", "--runs", "runs"], many, 1)
        cached = wall([dltui, "ps", "--all", "--runs", "runs"], many, 3)
        print(f"dltui ps --all over {args.runs} runs with disk use: first {measured * 1000:.0f}"
              f" ms (every run measured), then {cached * 1000:.0f} ms (median of 3, sizes "
              "from .sizes.json)")


if __name__ == "__main__":
    main()
