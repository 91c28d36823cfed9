"""The GPU inventory: which devices exist and how busy they are.

Read from nvidia-smi (it ships with the driver, so no Python binding is
needed). No nvidia-smi, or no GPU, means an empty inventory: runs go to the CPU.
`DLTUI_GPUS=0,2` restricts dltui to those devices, as CUDA_VISIBLE_DEVICES
would; it also declares them where nvidia-smi is missing.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass

GPUS_ENV = "DLTUI_GPUS"
_QUERY = "index,name,memory.total,memory.used,utilization.gpu"


@dataclass(frozen=True)
class Gpu:
    index: int
    name: str = ""
    memory_total_mib: float | None = None
    memory_used_mib: float | None = None
    utilization: float | None = None


def query_gpus(timeout: float = 5.0) -> list[Gpu]:
    """Every GPU nvidia-smi reports now; empty when there is none or no driver."""
    import shutil  # here: shutil pulls in compression modules every command would pay for

    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run([smi, f"--query-gpu={_QUERY}", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=timeout, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.splitlines():
        fields = [f.strip() for f in line.split(",")]
        if len(fields) < 5 or not fields[0].isdigit():
            continue
        gpus.append(Gpu(int(fields[0]), fields[1], _number(fields[2]), _number(fields[3]),
                        _number(fields[4])))
    return gpus


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None  # "[N/A]" on some boards


def gpu_indices() -> list[int]:
    """The devices runs may be given: DLTUI_GPUS if set, else every GPU found."""
    declared = os.environ.get(GPUS_ENV)
    if declared is not None:
        return [int(part) for part in declared.replace(" ", "").split(",") if part.isdigit()]
    return [gpu.index for gpu in query_gpus()]
