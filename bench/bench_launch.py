"""Launch figures, each beside its anchor in the same run: `dltui run --detach` to the
child's first line in output.log vs a plain `python -c` start; a 100-run sweep of a
trivial command through the queue (max_parallel 1) vs a plain loop of python starts;
`dltui ps` with nothing running. The project is a git repository, as users' are.

    .venv/bin/python bench/bench_launch.py [--repeat 7] [--sweep 100]

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

PY = sys.executable
DLTUI = str(Path(PY).with_name("dltui"))

MANIFEST = f"""
[settings]
max_parallel = 1

[experiments.hello]
command = ["{PY}", "-c", "print('first line', flush=True)"]
gpus = 0

[experiments.trivial]
command = ["{PY}", "-c", "pass", "{{i}}"]
params = {{ i = 0 }}
gpus = 0
"""


def python_start() -> float:
    start = time.perf_counter()
    subprocess.run([PY, "-c", "pass"], check=True, env=_env())
    return time.perf_counter() - start


def make_project(folder: Path) -> None:
    """A project as users have one: the manifest, committed to git (the launch records
    the commit and snapshots the tree)."""
    folder.mkdir()
    (folder / "experiments.toml").write_text(MANIFEST, encoding="utf-8")
    (folder / ".gitignore").write_text("runs/\n", encoding="utf-8")
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "the project"]):
        subprocess.run([*git, *args], cwd=folder, check=True)


def first_line_after_detach(folder: Path) -> float:
    """Seconds from starting `dltui run hello --detach` to a line in the run's output."""
    make_project(folder)
    start = time.perf_counter()
    subprocess.run([DLTUI, "run", "hello", "--detach"], cwd=folder, check=True,
                   stdout=subprocess.DEVNULL, env=_env())
    runs = folder / "runs" / "hello"
    while True:
        logs = list(runs.glob("*/output.log"))
        if logs and b"\n" in logs[0].read_bytes():
            took = time.perf_counter() - start
            break
        time.sleep(0.001)
    status = logs[0].parent / "status.json"
    while not json.loads(status.read_text()).get("ended_at"):  # not in the next figure's way
        time.sleep(0.01)
    return took


def sweep_per_run(folder: Path, count: int) -> float:
    """Seconds per run from the first queued to the last ended, one run at a time."""
    make_project(folder)
    values = ",".join(str(i) for i in range(count))
    subprocess.run([DLTUI, "run", "trivial", "--detach", "--set", f"i={values}"], cwd=folder,
                   check=True, stdout=subprocess.DEVNULL, env=_env())
    statuses = [p / "status.json" for p in (folder / "runs" / "trivial").iterdir()
                if not p.name.startswith(".")]
    while True:
        read = [json.loads(s.read_text()) for s in statuses]
        if all(r.get("ended_at") for r in read):
            break
        time.sleep(0.05)
    first = min(r["queued_at"] for r in read)
    last = max(r["ended_at"] for r in read)
    bad = [r["state"] for r in read if r["state"] != "succeeded"]
    if bad:
        print(f"  ({len(bad)} runs did not succeed: {sorted(set(bad))})")
    return (last - first) / count


def ps_nothing_running(folder: Path) -> float:
    folder.mkdir()
    start = time.perf_counter()
    subprocess.run([DLTUI, "ps", "--runs", "runs"], cwd=folder, check=True,
                   stdout=subprocess.DEVNULL, env=_env())
    return time.perf_counter() - start


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DLTUI_RUN_DIR", None)
    env.pop("DLTUI_GPUS", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: modules load from bytecode
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--sweep", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        starts, launches, ps = [], [], []
        for index in range(args.repeat):  # interleaved, so that load hits both alike
            starts.append(python_start())
            launches.append(first_line_after_detach(root / f"launch{index}"))
            ps.append(ps_nothing_running(root / f"ps{index}"))
        anchor, ours = statistics.median(starts), statistics.median(launches)
        print(f"plain `python -c pass` start: {anchor * 1000:.0f} ms; `dltui run --detach` to "
              f"the child's first line in output.log: {ours * 1000:.0f} ms ({ours / anchor:.1f}x;"
              f" median of {args.repeat})")
        print(f"dltui ps, nothing running: {statistics.median(ps) * 1000:.0f} ms "
              f"(median of {args.repeat})")
        start = time.perf_counter()
        for _ in range(args.sweep):
            subprocess.run([PY, "-c", "pass"], check=True, env=_env())
        loop = (time.perf_counter() - start) / args.sweep
        per_run = sweep_per_run(root / "sweep", args.sweep)
        print(f"a loop of {args.sweep} python starts: {loop * 1000:.0f} ms each; a "
              f"{args.sweep}-run sweep of `python -c pass` through the queue, max_parallel 1: "
              f"{per_run * 1000:.0f} ms a run, first queued to last ended ({per_run / loop:.1f}x)")


if __name__ == "__main__":
    main()
