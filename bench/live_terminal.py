"""The dashboard in a real terminal (tmux), as a user runs it: CPU while following a
live run and while idle, log() to value on screen, and 10,000 runs listed from launch.

Used by `bench_dashboard.py`; what the screen shows is read with `capture-pane`, and
the dashboard's CPU and memory from /proc (Linux).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

# A training loop as the dashboard sees one: a batch loss and a line of output every
# 0.1 s, and a probe value (4 decimals ending in 3, which no axis tick can be) every
# 0.2-0.45 s; the bench reads when each probe was logged from metrics.jsonl.
WRITER = """
import random, time
import dltui
run = dltui.init()
probe, step, due = 0, 0, time.time()
random.seed(1)
while True:
    step += 1
    values = {"batch_loss": 1.0 + 1.0 / step ** 0.5}  # over 1: never read as a probe
    if time.time() >= due and probe < 890:
        probe += 1
        values["probe"] = round(0.1003 + probe / 1000, 4)
        due = time.time() + random.uniform(0.2, 0.45)
    run.log(values, step=step)
    print(f"step {step} batch_loss={values['batch_loss']:.3f}", flush=True)
    time.sleep(0.1)
"""
MANIFEST = """
[settings]
runs_dir = "runs"

[experiments.probe]
command = [{python}, "writer.py"]
metric = "probe"
mode = "max"

[experiments.other]
command = [{python}, "writer.py"]
params = {{ lr = 0.1 }}
sweep = {{ seed = [1, 2, 3] }}
metric = "probe"
mode = "max"
"""
PROBE = re.compile(r"\b0\.\d{3}3\b")
TICK = os.sysconf("SC_CLK_TCK")
DLTUI = Path(sys.executable).with_name("dltui")


class Pane:
    """`dltui` in a detached tmux session of its own server."""

    def __init__(self, manifest: Path, runs: Path, size: tuple[int, int] = (160, 48)) -> None:
        self.socket = f"dltui-bench-{os.getpid()}-{time.time_ns()}"
        self.launched = time.perf_counter()
        command = f"env -u COLUMNS -u LINES {DLTUI} --manifest {manifest} --runs {runs}"
        self.tmux("new-session", "-d", "-s", "dash", "-x", str(size[0]), "-y", str(size[1]),
                  command, check=True)
        self.pane_pid = int(self.tmux("display", "-p", "-t", "dash", "#{pane_pid}").strip())

    def tmux(self, *args: str, check: bool = False) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                              text=True, timeout=20, check=check)
        return done.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "dash")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "dash", *keys)

    def wait_for(self, text: str, timeout: float = 60, absent: str = "") -> float:
        """Seconds since launch when the screen first showed `text` (without `absent`)."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            shown = self.screen()
            if text in shown and not (absent and absent in shown):
                return time.perf_counter() - self.launched
            time.sleep(0.005)
        raise RuntimeError(f"the screen never showed {text!r}:\n{self.screen()}")

    def pids(self) -> list[int]:
        """The pane's process and its descendants."""
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                children.setdefault(int(fields[1]), []).append(int(entry))
        found, todo = [], [self.pane_pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo += children.get(pid, [])
        return found

    def cpu_seconds(self) -> float:
        total = 0.0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / TICK
        return total

    def peak_mib(self) -> float:
        """The largest peak resident size among the pane's processes."""
        peak = 0.0
        for pid in self.pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            found = re.search(r"VmHWM:\s+(\d+) kB", status)
            if found:
                peak = max(peak, int(found.group(1)) / 1024)
        return peak

    def cores(self, seconds: float) -> float:
        """CPU used over `seconds` of wall time, in cores; the screen is not read meanwhile."""
        before, began = self.cpu_seconds(), time.perf_counter()
        time.sleep(seconds)
        return (self.cpu_seconds() - before) / (time.perf_counter() - began)

    def close(self) -> None:
        self.tmux("kill-server")


def probe_times(metrics: Path) -> dict[str, float]:
    """Each probe value as shown (4 decimals) -> when it was logged."""
    times = {}
    for line in metrics.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "probe" in record:
            times[f"{record['probe']:.4f}"] = record["time"]
    return times


def latencies(pane: Pane, metrics: Path, samples: int) -> list[float]:
    """log() to on screen for `samples` probe values: the newest probe value shown is
    noted when it first appears, then looked up in metrics.jsonl."""
    seen: dict[str, float] = {}
    deadline = time.time() + samples * 0.6 + 30
    while len(seen) < samples + 1 and time.time() < deadline:
        shown = PROBE.findall(pane.screen())
        now = time.time()
        if shown:
            newest = max(shown)
            seen.setdefault(newest, now)
        time.sleep(0.003)
    if len(seen) < 2:
        print(f"no probe value moved on screen; it shows:\n{pane.screen()}")
    logged = probe_times(metrics)
    first = min(seen) if seen else ""
    # The first value seen may have been logged before the screen was watched.
    return [at - logged[value] for value, at in seen.items() if value != first
            and value in logged]


def percentile(values: list[float], share: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def row(what: str, figure: str, goal: str) -> None:
    print(f"{what:<58} {figure:>20}   goal {goal}")


def bench_live(folder: Path, seconds: float, samples: int) -> None:
    """One live run (started through the queue) followed on the run screen."""
    from dltui.manifest import load_manifest
    from dltui.queue.control import stop_runs
    from dltui.queue.launch import launch
    from dltui.queue.scheduler import ensure_supervisor
    from dltui.store.runs import RunStore

    shutil.rmtree(folder, ignore_errors=True)  # an earlier run's best would hide the probes
    folder.mkdir(parents=True)
    (folder / "writer.py").write_text(WRITER)
    manifest_path = folder / "experiments.toml"
    manifest_path.write_text(MANIFEST.format(python=json.dumps(sys.executable)))
    manifest = load_manifest(manifest_path)
    runs = folder / "runs"
    (made,) = launch(manifest=manifest, names=["probe"], runs_dir=runs)
    ensure_supervisor(runs)
    metrics = made.path / "metrics.jsonl"
    deadline = time.time() + 60
    while not (metrics.exists() and "probe" in metrics.read_text()) and time.time() < deadline:
        time.sleep(0.05)
    pane = Pane(manifest_path, runs)
    try:
        pane.wait_for("▶ running")
        time.sleep(1.0)
        on_list = latencies(pane, metrics, samples)
        pane.keys("2")
        pane.wait_for("Runs")
        pane.keys("Enter")
        pane.wait_for("probe  last")
        time.sleep(1.0)
        on_run = latencies(pane, metrics, samples)
        time.sleep(1.0)
        following = pane.cores(seconds)
        pane.keys("Escape")  # alone: escape and a key sent together read as alt+key
        pane.wait_for("Runs — ")
        pane.keys("1")
        pane.wait_for("Experiments")
        time.sleep(1.0)
        listing = pane.cores(seconds)
        stop_runs(RunStore(runs).active(), grace=2)
        pane.wait_for("■ killed")
        time.sleep(2.0)
        idle = pane.cores(seconds)
    finally:
        pane.close()
        stop_runs(RunStore(runs).active(), grace=1)
    print(f"one live run logging 10 records and 10 output lines a second; "
          f"CPU over {seconds:g} s, {samples} probes per screen")
    row("following it on the run screen: CPU", f"{following:.3f} core", "<= 0.05 core")
    row("  (the Experiments screen while it runs: CPU)", f"{listing:.3f} core", "")
    row(f"log() to value on the run screen: p50 / p95 ({len(on_run)})",
        f"{percentile(on_run, .5) * 1000:.0f} / {percentile(on_run, .95) * 1000:.0f} ms",
        "50 / 100 ms")
    row(f"log() to value on the Experiments screen: p50 / p95 ({len(on_list)})",
        f"{percentile(on_list, .5) * 1000:.0f} / {percentile(on_list, .95) * 1000:.0f} ms",
        "100 / 200 ms")
    row("idle (nothing running, Experiments screen): CPU", f"{idle:.4f} core",
        "<= 0.005 core")
    if on_run:
        print(f"  run screen, every delay: min {min(on_run) * 1000:.0f} ms, "
              f"mean {statistics.mean(on_run) * 1000:.0f} ms, max {max(on_run) * 1000:.0f} ms")


def bench_many(manifest: Path, runs: Path, count: int) -> None:
    """Launch to every run listed (the header's count), then the Runs screen's memory."""
    for attempt in ("first launch (no index yet)", "next launch (index of finished runs)"):
        pane = Pane(manifest, runs)
        try:
            listed = pane.wait_for(f"{count:,} runs", timeout=120)
            pane.keys("2")
            pane.wait_for(f"Runs — {count:,} runs", timeout=30)
            pane.keys("End")
            time.sleep(1.0)
            peak = pane.peak_mib()
        finally:
            pane.close()
        row(f"{count:,} runs listed, from launch: {attempt}", f"{listed:.2f} s", "<= 1 s")
        row("  peak memory, the Runs screen showing them all", f"{peak:.0f} MiB", "<= 150 MiB")
