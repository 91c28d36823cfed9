"""System figures per run: a real process tree of known size, sampled by the run wrapper
into the metrics stream under sys/, peaks in the status, shown by ps and compare."""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import Project, script, wait_for
from dltui.system.figures import split_system, use_text
from dltui.system.sampler import SystemSampler

PY = sys.executable


def manifest(seconds: float = 3.0) -> str:
    return f"""
[experiments.mem]
command = ["{PY}", "{script('holds_memory.py')}"]
params = {{ mb_parent = 200, mb_child = 100, seconds = {seconds} }}
metric = "train_loss"

[experiments.gpu]
command = ["{PY}", "{script('gpu_holds.py')}"]
params = {{ mb = 1024, seconds = 3 }}
gpus = 1
"""


def records(path: Path) -> list[dict[str, Any]]:
    if not (path / "metrics.jsonl").exists():
        return []  # not started yet
    return [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]


def system_records(path: Path) -> list[dict[str, Any]]:
    return [r for r in records(path) if any(k.startswith("sys/") for k in r)]


def test_a_process_tree_of_known_size_shows_in_the_figures(project: Project) -> None:
    project.write(manifest())
    project.cli("run", "mem", check=True, env=project.env(DLTUI_SYS_INTERVAL="0.3"))
    (path,) = project.run_paths("mem")
    sampled = system_records(path)
    assert len(sampled) >= 5
    rss = [r["sys/rss_mb"] for r in sampled]
    # 200 MB in the script, 100 MB in its child, and two interpreters beside them.
    assert 300 <= max(rss) <= 300 + 400
    assert max(r["sys/procs"] for r in sampled) == 2
    # The child spins a core; on a busy shared machine it gets less than all of one.
    assert max(r["sys/cpu_percent"] for r in sampled) >= 20
    assert all(r["sys/read_mb"] >= 0 and r["sys/write_mb"] >= 0 for r in sampled)
    if shutil.which("nvidia-smi") is None:
        assert not any("gpu" in key for r in sampled for key in r)  # no GPU: no GPU fields
    # Each sample sits at the training step reached when it was taken.
    training = [(r["time"], r["step"]) for r in records(path) if "train_loss" in r]
    for sample in sampled:
        reached = [step for when, step in training if when <= sample["time"]]
        assert sample.get("step") == (reached[-1] if reached else None)
    status = json.loads((path / "status.json").read_text())
    peaks = status["sys_peaks"]
    assert peaks["rss_mb"] == max(rss) and peaks["procs"] == 2
    assert status["last_step"] == 4  # the samples did not move the run's step
    assert not any(k.startswith("sys/") for k in
                   project.cli("compare", "mem", "--format", "csv").stdout.splitlines()[0]
                   .split(","))


def test_ps_shows_current_use_and_compare_the_peaks(project: Project) -> None:
    project.write(manifest(seconds=6.0))
    project.cli("run", "mem", "--detach", check=True, env=project.env(DLTUI_SYS_INTERVAL="0.3"))
    path = wait_for(lambda: project.run_paths("mem") and project.run_paths("mem")[0],
                    what="the run")
    wait_for(lambda: len(system_records(path)) >= 3, timeout=30, what="three samples")  # type: ignore[arg-type]
    (row,) = project.ps_json()
    assert row["use"]["rss_mb"] >= 300 and not any(k.startswith("sys/") for k in row["latest"])
    table = project.cli("ps", check=True).stdout
    header, line = table.splitlines()[:2]
    assert "USE" in header
    assert line[header.index("USE"):].startswith("cpu ")
    wait_for(lambda: project.status_of(path).get("state") == "succeeded", timeout=30,  # type: ignore[arg-type]
             what="the run's end")
    csv_header = project.cli("compare", "mem", "--format", "csv", check=True).stdout \
        .splitlines()[0].split(",")
    assert "peak:rss_mb" in csv_header and "peak:cpu_percent" in csv_header
    assert not any(c.startswith("sys/") for c in csv_header)
    ended = project.cli("ps", "--all", check=True).stdout
    assert "cpu " in ended  # an ended run shows its peaks


def test_interval_zero_turns_sampling_off(project: Project) -> None:
    project.write(manifest(seconds=1.0))
    project.cli("run", "mem", check=True, env=project.env(DLTUI_SYS_INTERVAL="0"))
    (path,) = project.run_paths("mem")
    assert system_records(path) == []
    assert project.status_of(path)["sys_peaks"] == {}


def test_the_sampler_reads_a_tree_it_is_given(tmp_path: Path) -> None:
    import subprocess

    metrics = tmp_path / "metrics.jsonl"
    child = subprocess.Popen([PY, "-c", "import time; b = bytearray(b'1') * (120 << 20); "
                              "time.sleep(30)"])
    try:
        # gpu_ids None: every GPU NVML sees (here none, or no driver: no figures, no error).
        sampler = SystemSampler(metrics, child.pid, gpu_ids=None, interval=1.0)
        wait_for(lambda: (sampler.sample_once() or {}).get("sys/rss_mb", 0) >= 120,
                 timeout=20, poll=0.2, what="the child's 120 MB")
    finally:
        child.kill()
        child.wait()
    time.sleep(0.1)
    assert sampler.sample_once() is None  # the tree is gone: nothing to write
    peaks = sampler.stop()
    assert peaks["rss_mb"] >= 120 and peaks["procs"] == 1
    if not _gpu_present():
        assert not any(key.startswith("gpu") for key in peaks)
    written = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert written and all("step" not in r for r in written)  # no training step yet


def test_use_text_reads_as_a_table_cell() -> None:
    training, system = split_system({"loss": 0.5, "sys/cpu_percent": 97.4, "sys/rss_mb": 2048.0,
                                     "sys/gpu0_util_percent": 71.0, "sys/gpu0_mem_mb": 812.0})
    assert training == {"loss": 0.5}
    assert use_text(system) == "cpu 97% 2.0G gpu0 71% 812M"
    assert use_text({}) == ""


def _gpu_present() -> bool:
    try:
        import pynvml

        pynvml.nvmlInit()
        return bool(pynvml.nvmlDeviceGetCount())
    except Exception:
        return False


@pytest.mark.skipif(not _gpu_present(), reason="needs an NVIDIA GPU and its driver")
def test_the_runs_gpu_memory_shows_in_the_figures(project: Project) -> None:
    project.write(manifest())
    project.cli("run", "gpu", check=True, env=project.env(DLTUI_SYS_INTERVAL="0.5"))
    (path,) = project.run_paths("gpu")
    status = project.status_of(path)
    (index,) = status["gpu_ids"]  # type: ignore[misc]
    sampled = system_records(path)
    mem = [r.get(f"sys/gpu{index}_mem_mb", 0) for r in sampled]
    assert max(mem) >= 1024  # the tensor, and the CUDA context beside it
    assert any(f"sys/gpu{index}_util_percent" in r for r in sampled)
    assert status["sys_peaks"][f"gpu{index}_mem_mb"] == max(mem)  # type: ignore[index]


def test_without_psutil_the_run_goes_on_with_one_line_in_its_log(project: Project) -> None:
    shadow = project.root / "shadow"
    shadow.mkdir()
    (shadow / "psutil.py").write_text("raise ImportError('not here')\n")
    project.write(manifest(seconds=1.0))
    project.cli("run", "mem", check=True,
                env=project.env(DLTUI_SYS_INTERVAL="0.2", PYTHONPATH=str(shadow)))
    (path,) = project.run_paths("mem")
    assert project.status_of(path)["state"] == "succeeded"
    assert system_records(path) == []
    log = (path / "output.log").read_text()
    assert log.count("dltui: no system figures: psutil is not installed (pip install psutil)") \
        == 1


def test_the_dashboard_and_cli_never_load_nvml() -> None:
    import subprocess

    code = ("import sys, dltui.tui.app, dltui.tui.cli, dltui.views.listing, dltui.views.compare\n"
            "print(' '.join(m for m in ('pynvml', 'psutil', 'apprise') if m in sys.modules))")
    loaded = subprocess.run([PY, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == ""
