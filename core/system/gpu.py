"""The run's GPUs through NVML (nvidia-ml-py): utilisation, the run's memory, power, heat.

Imported by the run wrapper only; the dashboard and CLI read the figures from the
metrics stream. No binding, no driver or no device means no GPU figures, never an error.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from typing import Any

from dltui.procs import is_alive

_MB = 1024 * 1024


class GpuUse:
    """Samples the given GPU indices (None: those CUDA_VISIBLE_DEVICES names, else all)."""

    def __init__(self, indices: list[int] | None) -> None:
        self._nvml: Any = None
        self.handles: dict[int, Any] = {}
        if indices == []:
            return  # a CPU run
        try:
            import pynvml

            pynvml.nvmlInit()
        except Exception:  # no binding (ImportError) or no driver (NVMLError): no GPU figures
            return
        self._nvml = pynvml
        try:
            count = pynvml.nvmlDeviceGetCount()
            chosen = indices if indices is not None else _visible(count)
            for index in chosen:
                if 0 <= index < count:
                    self.handles[index] = pynvml.nvmlDeviceGetHandleByIndex(index)
        except pynvml.NVMLError:
            self.handles = {}

    def sample(self, pids: Collection[int]) -> dict[str, float]:
        """{"gpu0_util_percent", "gpu0_mem_mb", "gpu0_power_w", "gpu0_temp_c", ...}.

        Memory is what the run's processes hold on the device; where NVML lists
        processes the run cannot see (another PID namespace, as in most containers),
        the device's used memory stands in for it.
        """
        nvml = self._nvml
        out: dict[str, float] = {}
        for index, handle in self.handles.items():
            prefix = f"gpu{index}_"
            out.update(_field(prefix + "util_percent",
                              lambda h=handle: nvml.nvmlDeviceGetUtilizationRates(h).gpu, nvml))
            out.update(_field(prefix + "mem_mb", lambda h=handle: self._run_memory(h, pids),
                              nvml))
            out.update(_field(prefix + "power_w",
                              lambda h=handle: nvml.nvmlDeviceGetPowerUsage(h) / 1000, nvml))
            out.update(_field(prefix + "temp_c", lambda h=handle: nvml.nvmlDeviceGetTemperature(
                h, nvml.NVML_TEMPERATURE_GPU), nvml))
        return out

    def _run_memory(self, handle: Any, pids: Collection[int]) -> float:
        nvml = self._nvml
        listed = list(nvml.nvmlDeviceGetComputeRunningProcesses(handle))
        listed += nvml.nvmlDeviceGetGraphicsRunningProcesses(handle)
        ours = [p.usedGpuMemory or 0 for p in listed if p.pid in pids]
        if ours or not listed or any(is_alive(p.pid) for p in listed):
            return sum(ours) / _MB
        return nvml.nvmlDeviceGetMemoryInfo(handle).used / _MB

    def close(self) -> None:
        if self._nvml is not None:
            try:
                self._nvml.nvmlShutdown()
            except self._nvml.NVMLError:
                pass  # already shut down
            self._nvml = None


def _field(name: str, read: Any, nvml: Any) -> dict[str, float]:
    try:
        return {name: round(float(read()), 1)}
    except nvml.NVMLError:  # a field this device does not report (power on some boards)
        return {}


def _visible(count: int) -> list[int]:
    named = os.environ.get("CUDA_VISIBLE_DEVICES")
    if named is None:
        return list(range(count))
    try:
        return [int(part) for part in named.split(",") if part.strip()]
    except ValueError:  # UUIDs: not worth resolving here
        return list(range(count))
