"""Dashboard figures, each beside its goal: following a live run, idle, 10,000 runs.

    .venv/bin/python bench/bench_dashboard.py [--runs 10000] [--keep DIR]
        [--parts live,many,headless] [--seconds 20] [--samples 40]

`live` starts one run through the queue (a loop logging 10 records a second) and
opens `dltui` on it in tmux: CPU while following it on the run screen, log() to
value on the run and Experiments screens (read from the terminal with
capture-pane), then CPU idle once it is stopped. `many` builds a runs directory
of fake finished runs in the real format (run.json, status.json with final
metrics, a short metrics.jsonl) and times `dltui` in tmux from launch to all of
them listed, with its peak memory. `headless` drives the app headless on them:
first frame, scrolling, filtering, sorting. Asserts nothing: these machines are
shared and noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from dltui.store import rundir as rd

sys.path.insert(0, str(Path(__file__).parent))
from live_terminal import bench_live, bench_many  # noqa: E402

EXPERIMENTS = 20
RATES = (0.1, 0.01, 0.001, 0.0001)
START = 1_780_000_000.0


def write_manifest(folder: Path) -> Path:
    lines = ['[settings]\nruns_dir = "runs"\n']
    for e in range(EXPERIMENTS):
        lines.append(f'[experiments.exp-{e:02d}]\ncommand = ["python", "train.py", "--lr={{lr}}"]\n'
                     f'params = {{ epochs = 10 }}\nsweep = {{ lr = {list(RATES)} }}\n'
                     f'metric = "val_acc"\nmode = "max"\ngroup = "g{e % 4}"\n')
    path = folder / "experiments.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def build_runs(runs: Path, count: int) -> None:
    """`count` finished runs spread over the experiments, written as a real run would be."""
    for i in range(count):
        when = START + i * 7
        run_id = time.strftime("%Y%m%d-%H%M%S", time.gmtime(when)) + f"-{i % 65536:04x}"
        lr = RATES[(i // EXPERIMENTS) % len(RATES)]
        spec = rd.RunSpec(run_id=run_id, experiment=f"exp-{i % EXPERIMENTS:02d}",
                          argv=["python", "train.py", f"--lr={lr}"],
                          params={"epochs": 10, "lr": lr}, cwd=str(runs.parent),
                          metric="val_acc", mode="max")
        accs = [0.5 + 0.4 * (1 - (1 - lr * 5) ** (s + 1)) + (i % 13) * 1e-3 for s in range(10)]
        losses = [1.0 / (s + 1 + lr * 10) for s in range(10)]
        run = rd.create_run_dir(
            runs, spec, state=rd.SUCCEEDED, queued_at=when, started_at=when + 1,
            ended_at=when + 61, exit_code=0, last_step=10, total=10,
            metrics={"val_acc": {"last": accs[-1], "best": max(accs), "count": 10},
                     "loss": {"last": losses[-1], "best": min(losses), "count": 10}})
        with open(run.metrics_file, "w", encoding="utf-8") as out:
            for step in range(10):
                out.write(json.dumps({"step": step + 1, "time": when + 6 * step,
                                      "val_acc": accs[step], "loss": losses[step]}) + "\n")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


async def drive(manifest_path: Path, runs: Path, count: int) -> None:
    from textual import events

    from dltui.manifest import load_manifest
    from dltui.tui.app import DltuiApp, make_app
    from dltui.tui.widgets.virtual_table import VirtualTable

    frames: list[float] = []
    marks: dict[str, float] = {}

    class Timed(DltuiApp):
        def _display(self, screen: Any, renderable: Any) -> None:
            super()._display(screen, renderable)
            if renderable is not None:
                frames.append(time.perf_counter())
                marks.setdefault("first frame", frames[-1])
                if self.snapshot.loaded and len(self.snapshot.records) >= count:
                    marks.setdefault("all runs listed", frames[-1])

    async def key_to_frame(app: DltuiApp, *keys: str) -> float:
        """Send keys as a terminal would; seconds until the frame that follows them."""
        seen = len(frames)
        began = time.perf_counter()
        assert app._driver is not None
        for key in keys:
            event = events.Key(key, key if len(key) == 1 else None)
            event.set_sender(app)
            app._driver.send_message(event)
        while len(frames) == seen or frames[-1] < began:
            await asyncio.sleep(0.0005)
        await asyncio.sleep(0.05)  # let the frame's follow-ups settle before the next key
        return frames[seen] - began

    start = time.perf_counter()
    manifest = load_manifest(manifest_path)
    base = make_app(manifest=manifest, runs_dir=runs)
    app = Timed(base.dashboard)
    async with app.run_test(size=(160, 48)) as pilot:
        while "all runs listed" not in marks and time.perf_counter() - start < 120:
            await pilot.pause(0.01)
        print(f"first frame (app start to first paint, headless): "
              f"{ms(marks['first frame'] - start)}")
        if "all runs listed" in marks:
            print(f"{count:,} runs read and the experiments screen painted with them: "
                  f"{ms(marks['all runs listed'] - start)}")
        scroll = [await key_to_frame(app, "down") for _ in range(20)]
        print(f"experiments screen, key to frame: median {ms(statistics.median(scroll))}, "
              f"max {ms(max(scroll))}")
        opened = await key_to_frame(app, "2")
        table = app.screen.query_one(VirtualTable)
        print(f"runs screen opened with {len(table.rows):,} rows: {ms(opened)} to its frame")
        keys = ["pagedown"] * 40 + ["down"] * 40 + ["end", "home"] + ["pageup"] * 5
        scroll = [await key_to_frame(app, key) for key in keys]
        print(f"scrolling {count:,} runs, {len(keys)} keys (page down/up, down, end, home), "
              f"key to frame: median {ms(statistics.median(scroll))}, max {ms(max(scroll))}")
        await key_to_frame(app, "slash")
        typed = [await key_to_frame(app, char) for char in "exp-07 0.01"]
        print(f"filtering {count:,} runs as one types (11 keys), key to frame: median "
              f"{ms(statistics.median(typed))}, max {ms(max(typed))}; "
              f"{len(table.rows):,} rows left")
        await key_to_frame(app, "escape")
        resorted = await key_to_frame(app, "o")
        print(f"sorting {len(table.rows):,} rows by another column, key to frame: "
              f"{ms(resorted)}")


def terminal_first_frame(manifest: Path, runs: Path) -> None:
    """Process start to the screen's title on a real terminal (tmux)."""
    if shutil.which("tmux") is None:
        print("real-terminal first frame: skipped (no tmux)")
        return
    session = f"dltui-bench-{time.time_ns()}"
    dltui = Path(sys.executable).parent / "dltui"
    began = time.perf_counter()
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "48",
                    f"env -u COLUMNS -u LINES {dltui} --manifest {manifest} --runs {runs}"],
                   check=True)
    try:
        seen = None
        while time.perf_counter() - began < 30:
            screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session],
                                    capture_output=True, text=True).stdout
            if seen is None and "Experiments" in screen:
                seen = time.perf_counter() - began
            if "exp-00" in screen:
                print(f"real terminal: first frame {ms(seen or 0)} after the process "
                      f"started (Python and imports included); experiments listed after "
                      f"{ms(time.perf_counter() - began)}")
                return
            time.sleep(0.01)
        print("real terminal: no frame within 30 s")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, help="build (or reuse) the runs here")
    parser.add_argument("--parts", default="live,many,headless",
                        help="which figures: live, many, headless (comma-separated)")
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="how long each CPU figure is measured")
    parser.add_argument("--samples", type=int, default=40,
                        help="log() to screen samples on each screen")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    folder = args.keep or Path(tempfile.mkdtemp(prefix="dltui-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    with open("/proc/loadavg") as load:
        print(f"load average before: {' '.join(load.read().split()[:3])} "
              f"on {os.cpu_count()} cores")
    if "live" in parts:
        if shutil.which("tmux") is None:
            print("live figures: skipped (no tmux)")
        else:
            bench_live(folder / "live", args.seconds, args.samples)
    if parts & {"many", "headless"}:
        many(folder, args, parts)
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)


def many(folder: Path, args: argparse.Namespace, parts: set[str]) -> None:
    manifest = write_manifest(folder)
    runs = folder / "runs"
    if not (runs / "exp-00").is_dir():
        began = time.perf_counter()
        build_runs(runs, args.runs)
        print(f"built {args.runs:,} finished runs in {time.perf_counter() - began:.1f} s")
    if "many" in parts and shutil.which("tmux") is not None:
        for index in runs.glob("*/.finished.json"):  # the first launch reads every run
            index.unlink()
        bench_many(manifest, runs, args.runs)
    if "headless" not in parts:
        return
    imported = subprocess.run(
        [sys.executable, "-c", "import time; t = time.perf_counter(); import dltui.tui.app; "
         "print(time.perf_counter() - t)"], capture_output=True, text=True, check=True)
    print(f"importing the dashboard (textual included): {float(imported.stdout) * 1000:.0f} ms")
    asyncio.run(drive(manifest, runs, args.runs))
    terminal_first_frame(manifest, runs)


if __name__ == "__main__":
    main()
