"""Output at disk speed: a script printing 1 KB lines under the run wrapper against the
same script writing to a file directly, and the parse cost of a line without metrics.

    .venv/bin/python bench/bench_output.py [--mb 200]

The 1 GiB of the goal scaled to --mb. The script times itself (its own start to its
last print), so the wrapper's start-up is not counted; both runs get the wrapper's
environment (PYTHONUNBUFFERED=1). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dltui.store import rundir as rd
from dltui.tracking.stdout_metrics import parse_line

PRINTER = """
import sys, time
lines, took_file = int(sys.argv[1]), sys.argv[2]
words = "the model of data loading batch images from disk worker queue shard cache".split()
text = " ".join(words[i % len(words)] for i in range(200))
line = ("2024-01-01 12:00:00,123 - INFO - data.loader - " + text)[:1023]
start = time.perf_counter()
for _ in range(lines):
    print(line)
sys.stdout.flush()
open(took_file, "w").write(str(time.perf_counter() - start))
"""


def direct(script: Path, lines: int, root: Path) -> float:
    took = root / "direct.took"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(root / "direct.log", "wb") as out:
        subprocess.run([sys.executable, str(script), str(lines), str(took)], stdout=out,
                       env=env, check=True)
    return float(took.read_text())


def wrapped(script: Path, lines: int, root: Path) -> tuple[float, float, int]:
    took = root / "wrapped.took"
    spec = rd.RunSpec(run_id="output", experiment="bench", params={}, cwd=str(root),
                      argv=[sys.executable, str(script), str(lines), str(took)])
    run = rd.create_run_dir(root / "runs", spec, state=rd.QUEUED)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "dltui.queue.runner", str(run.path)], check=True)
    wall = time.perf_counter() - start
    return float(took.read_text()), wall, run.log_file.stat().st_size


def parse_cost(count: int = 20000) -> dict[str, float]:
    random.seed(0)
    words = ["the", "model", "of", "data", "loading", "batch", "images", "from", "disk",
             "worker", "queue", "shard", "cache"]
    prose = [" ".join(random.choice(words) for _ in range(200))[:1023] for _ in range(count)]
    logged = [f"2024-01-01 12:{i // 60 % 60:02d}:{i % 60:02d},123 - INFO - data.loader - "
              + prose[i][:960] for i in range(count)]
    costs = {}
    for name, lines in (("1 KB of prose", prose), ("1 KB logging line (time, level, logger)",
                                                   logged)):
        times = []
        for line in lines:
            begin = time.perf_counter_ns()
            parse_line(line)
            times.append(time.perf_counter_ns() - begin)
        costs[name] = statistics.median(times) / 1000
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=200, help="megabytes printed (1 KB lines)")
    args = parser.parse_args()
    lines = args.mb * 1024
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        script = root / "printer.py"
        script.write_text(PRINTER)
        alone = direct(script, lines, root)
        under, wall, size = wrapped(script, lines, root)
    print(f"{args.mb} MB in 1 KB lines: {alone:.2f} s writing to a file directly, "
          f"{under:.2f} s under the run wrapper ({wall:.2f} s with its start and end): "
          f"{alone / under:.2f}x its direct speed (goal >= 0.5x); log {size / 2**20:.0f} MB")
    for name, cost in parse_cost().items():
        print(f"median parse cost, {name} without metrics: {cost:.1f} us (goal <= 5 us)")


if __name__ == "__main__":
    main()
