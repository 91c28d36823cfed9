"""The environment a run ran in, recorded by the run wrapper as `environment.json`:
Python and every installed package with its version, torch's CUDA and cuDNN, the
GPUs and driver nvidia-smi reports, the host, and the names (never the values) of
the environment variables the run was given."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from dltui import __version__
from dltui.snapshots import probe
from dltui.store.rundir import read_json, write_json_atomic

ENVIRONMENT_FILE = "environment.json"
_PYTHON_NAME = re.compile(r"^python(\d+(\.\d+)*)?$")


def interpreter_of(argv: list[str], env: dict[str, str]) -> str | None:
    """The Python a command runs under, when its first word is one; None otherwise."""
    if not argv or not _PYTHON_NAME.match(os.path.basename(argv[0])):
        return None
    return shutil.which(argv[0], path=env.get("PATH")) if "/" not in argv[0] else argv[0]


# This interpreter's description, with the folders' change times it was read at: a
# supervisor reads it once for every run it forks, until a package is (un)installed.
_ours: tuple[tuple[tuple[str, int], ...], dict[str, Any]] | None = None


def _install_stamp() -> tuple[tuple[str, int], ...]:
    """When each import folder last changed: installing or removing a package does."""
    stamp = []
    for folder in sys.path:
        try:
            stamp.append((folder, os.stat(folder or ".").st_mtime_ns))
        except OSError:
            continue
    return tuple(stamp)


def describe_interpreter(python: str | None) -> dict[str, Any]:
    """`probe.describe_python()` for `python`: in this process when it is ours."""
    global _ours
    if python is None or os.path.abspath(python) == os.path.abspath(sys.executable):
        stamp = _install_stamp()
        if _ours is None or _ours[0] != stamp:
            _ours = (stamp, probe.describe_python())
        found = dict(_ours[1])
        found["interpreter"] = "the run wrapper's" if python is None else "the command's"
        return found
    try:
        done = subprocess.run([python, probe.__file__], capture_output=True, text=True,
                              timeout=60)
        found = json.loads(done.stdout)
    except (OSError, subprocess.SubprocessError, json.JSONDecodeError) as err:
        return {"interpreter": python, "error": f"could not ask {python}: {err}"}
    found["interpreter"] = "the command's"
    return found


def describe_gpus(timeout: float = 5.0) -> dict[str, Any]:
    """GPU names and the driver, as nvidia-smi reports them; empty without one."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return {"gpus": [], "driver": None}
    try:
        out = subprocess.run([smi, "--query-gpu=index,name,driver_version",
                              "--format=csv,noheader"], capture_output=True, text=True,
                             timeout=timeout, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return {"gpus": [], "driver": None}
    gpus, driver = [], None
    for line in out.splitlines():
        fields = [f.strip() for f in line.split(",")]
        if len(fields) >= 3 and fields[0].isdigit():
            gpus.append({"index": int(fields[0]), "name": fields[1]})
            driver = fields[2]
    return {"gpus": gpus, "driver": driver}


def describe_environment(*, env: dict[str, str], given: list[str],
                         python: dict[str, Any]) -> dict[str, Any]:
    """The record of one run's environment (see the module's docstring); `python` is
    what `describe_interpreter` found for its command."""
    from dltui.procs import hostname

    return {
        "recorded_at": time.time(),
        "host": hostname(),
        "dltui": __version__,
        **python,
        **describe_gpus(),
        "cuda_visible_devices": env.get("CUDA_VISIBLE_DEVICES"),
        "env_names": sorted(env),
        "env_given": sorted(given),
    }


def record_environment(run_dir: Path, *, env: dict[str, str], given: list[str],
                       python: dict[str, Any]) -> None:
    """Write environment.json into the run; a failure is noted in it, never raised."""
    try:
        record = describe_environment(env=env, given=given, python=python)
    except Exception as err:  # noqa: BLE001 - a record must never stop the run
        record = {"error": f"{type(err).__name__}: {err}"}
    try:
        write_json_atomic(run_dir / ENVIRONMENT_FILE, record)
    except OSError:
        pass


def read_environment(run_dir: Path) -> dict[str, Any]:
    data = read_json(run_dir / ENVIRONMENT_FILE, {})
    return data if isinstance(data, dict) else {}
