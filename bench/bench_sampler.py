"""The system sampler's cost: CPU time of one sample, as a share of one core at the
default interval. Goal: at most 1 % of a core.

    .venv/bin/python bench/bench_sampler.py [--children 4] [--samples 200]

A process tree like a training run with data loader workers (a parent and
`--children` children, each holding some memory) is sampled `--samples` times
the way the run wrapper's thread does it: the metrics stream's new lines read
(a line appended before each sample), the tree's CPU, memory and I/O read
through psutil, GPUs through NVML where there are any, one record appended.
CPU time is this process's own (user + system), so other work on a shared
machine does not count against it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dltui.system.sampler import DEFAULT_INTERVAL, SystemSampler

GOAL_PERCENT = 1.0
CHILD = ("import sys, time; held = bytearray(b'1') * (20 << 20); "
         "kids = [__import__('subprocess').Popen([sys.executable, '-c', "
         "'import time; held = bytearray(b\"1\") * (10 << 20); time.sleep(600)']) "
         "for _ in range(int(sys.argv[1]))]; time.sleep(600)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--children", type=int, default=4, help="processes under the run")
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    tree = subprocess.Popen([sys.executable, "-c", CHILD, str(args.children)])
    try:
        with tempfile.TemporaryDirectory() as folder:
            metrics = Path(folder) / "metrics.jsonl"
            metrics.write_text("")
            sampler = SystemSampler(metrics, tree.pid, gpu_ids=None, interval=DEFAULT_INTERVAL)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:  # until every child is up and counted
                figures = sampler.sample_once() or {}
                if figures.get("sys/procs") == args.children + 1:
                    break
                time.sleep(0.2)
            costs = []
            with open(metrics, "a") as stream:
                for step in range(args.samples):
                    stream.write(json.dumps({"step": step, "time": time.time(), "loss": 1.0})
                                 + "\n")
                    stream.flush()
                    start = time.process_time()
                    record = sampler.sample_once()
                    costs.append(time.process_time() - start)
            peaks = sampler.stop()
    finally:
        tree.kill()
        tree.wait()
    assert record is not None
    median, worst = statistics.median(costs), max(costs)
    share = 100 * median / DEFAULT_INTERVAL
    print(f"tree: {int(peaks.get('procs', 0))} processes, {peaks.get('rss_mb', 0):.0f} MB; "
          f"GPU figures: {'yes' if any(k.startswith('gpu') for k in peaks) else 'none'}")
    print(f"one sample: median {median * 1000:.2f} ms CPU, max {worst * 1000:.2f} ms "
          f"({args.samples} samples)")
    print(f"at the default interval of {DEFAULT_INTERVAL:g} s: {share:.3f} % of a core "
          f"(goal <= {GOAL_PERCENT:g} %): {'ok' if share <= GOAL_PERCENT else 'OVER'}")


if __name__ == "__main__":
    main()
