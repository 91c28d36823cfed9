"""Search figures: what a trial costs beyond its run (Optuna's ask, the reports and
pruning checks of its epochs, and tell, on the journal file in the runs dir), and one
look of the study driver with many trials on disk. Optuna's journal file syncs every
write to disk, so a busy disk shows in these figures.

    .venv/bin/python bench/bench_search.py [--trials 100] [--epochs 10]

Prints figures; asserts nothing (these machines are shared and noisy).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from dltui.manifest import load_manifest
from dltui.search.driver import StudyDriver
from dltui.store import rundir as rd

MANIFEST = """
[experiments.bench]
command = ["{python}", "-c", "pass", "{{lr}}"]
metric = "acc"
mode = "max"
search = {{ method = "tpe", trials = {trials}, parallel = 1, pruner = "median" }}
space = {{ lr = {{ log_uniform = [1e-4, 0.3] }}, batch_size = {{ choice = [8, 32, 64] }} }}
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def final_acc(lr: float) -> float:
    """A made-up accuracy, best at lr = 0.01, falling with the distance in decades."""
    return max(0.0, 1.0 - (math.log10(lr) + 2.0) ** 2 / 8.0)


def log_epoch(run: rd.RunDir, lr: float, epoch: int, epochs: int) -> None:
    """What a trial's training writes each epoch: one metrics line."""
    with open(run.metrics_file, "a") as out:
        out.write(f'{{"step": {epoch}, "acc": {final_acc(lr) * epoch / epochs}}}\n')


def fsync_ms(folder: Path, count: int = 50) -> float:
    """What one synced append costs on this disk now (the journal makes one per write)."""
    path = folder / "fsync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    start = time.perf_counter()
    for _ in range(count):
        os.write(fd, b"x" * 100)
        os.fsync(fd)
    os.close(fd)
    path.unlink()
    return (time.perf_counter() - start) / count * 1e3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "experiments.toml").write_text(MANIFEST.format(python=sys.executable,
                                                                trials=args.trials))
        manifest = load_manifest(root / "experiments.toml")
        runs = root / "runs"
        driver = StudyDriver(manifest=manifest, experiment="bench", runs_dir=runs)
        # The driver's own work only: nothing starts the runs (no supervisor) and each
        # "run" is written here as its training would write it.
        driver_step = driver.step
        per_trial: list[float] = []
        looks: list[float] = []
        import dltui.search.driver as module

        # No supervisor: it would start the queued runs; its check is timed below.
        real_ensure = module.ensure_supervisor
        module.ensure_supervisor = lambda _root: None  # type: ignore[assignment]
        quiet = contextlib.redirect_stdout(io.StringIO())
        quiet.__enter__()
        for _ in range(args.trials):
            spent = 0.0
            start = time.perf_counter()
            driver_step()  # asks and queues the next trial
            spent += time.perf_counter() - start
            info = [i for i in driver.store.runs("bench") if i.state == rd.QUEUED][0]
            info.dir.write_status(state=rd.RUNNING)
            for epoch in range(1, args.epochs + 1):
                log_epoch(info.dir, float(info.spec.params["lr"]), epoch, args.epochs)
                start = time.perf_counter()
                driver_step()  # reads the epoch, reports it, asks the pruner
                spent += time.perf_counter() - start
                looks.append(time.perf_counter() - start)
                if info.dir.status().get("pruned_at") is not None:
                    break
            if info.dir.status().get("pruned_at") is None:
                info.dir.write_status(state=rd.SUCCEEDED, ended_at=time.time(),
                                      metrics={"acc": {"best": final_acc(float(
                                          info.spec.params["lr"])), "count": args.epochs}})
            else:
                info.dir.write_status(state=rd.KILLED, ended_at=time.time())
            start = time.perf_counter()
            driver_step()  # tells how it ended (or records the pruned state)
            spent += time.perf_counter() - start
            per_trial.append(spent)
        quiet.__exit__(None, None, None)
        module.ensure_supervisor = real_ensure
        trials = driver.study.get_trials(deepcopy=False)
        pruned = sum(t.state.name == "PRUNED" for t in trials)
        print(f"one synced append on this disk now: {fsync_ms(root):.2f} ms")
        print(f"{len(trials)} trials of {args.epochs} epochs (TPE, median pruner, "
              f"{pruned} pruned), journal {driver.study._storage._backend._file_path}")
        first, last = per_trial[:10], per_trial[-10:]
        print(f"driver time per trial beyond its run (ask + queue + up to {args.epochs} "
              f"reports and pruning checks + tell): median {statistics.median(per_trial) * 1e3:.1f}"
              f" ms, p95 {percentile(per_trial, 0.95) * 1e3:.1f} ms; first 10 trials "
              f"{statistics.median(first) * 1e3:.1f} ms, last 10 "
              f"{statistics.median(last) * 1e3:.1f} ms   (goal <= 50 ms)")
        print(f"one look with a trial running (read its new epoch, report, ask the pruner):"
              f" median {statistics.median(looks) * 1e3:.1f} ms")
        start = time.perf_counter()
        for _ in range(20):
            driver_step()
        idle = (time.perf_counter() - start) / 20
        print(f"one idle look of the driver with {len(trials)} trial runs on disk: "
              f"{idle * 1e3:.1f} ms (the supervisor check included)")


if __name__ == "__main__":
    main()
