"""System figures beside training metrics: telling them apart, and short text for tables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dltui.store.status import RunStatus

PREFIX = "sys/"  # the metrics stream's names of system figures


def is_system_metric(name: str) -> bool:
    return name.startswith(PREFIX)


def split_system(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(training metrics, system figures without their `sys/` prefix)."""
    training: dict[str, Any] = {}
    system: dict[str, Any] = {}
    for key, value in values.items():
        if is_system_metric(key):
            system[key[len(PREFIX):]] = value
        else:
            training[key] = value
    return training, system


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None


def use_text(figures: Mapping[str, Any] | None) -> str:
    """`cpu 98% 812M gpu0 71% 10.2G`: a run's use (current or peak) in a table cell."""
    if not figures:
        return ""
    parts = []
    cpu, rss = _number(figures.get("cpu_percent")), _number(figures.get("rss_mb"))
    if cpu is not None:
        parts.append(f"cpu {cpu:.0f}%")
    if rss is not None:
        parts.append(megabytes_text(rss))
    gpus = sorted({key.split("_", 1)[0] for key in figures if key.startswith("gpu")})
    for gpu in gpus:
        util, mem = _number(figures.get(f"{gpu}_util_percent")), _number(
            figures.get(f"{gpu}_mem_mb"))
        cell = gpu
        if util is not None:
            cell += f" {util:.0f}%"
        if mem is not None:
            cell += " " + megabytes_text(mem)
        parts.append(cell)
    return " ".join(parts)


def megabytes_text(mb: float) -> str:
    return f"{mb / 1024:.1f}G" if mb >= 1024 else f"{mb:.0f}M"


_PEAK_LABELS = {"cpu_percent": "peak CPU %", "rss_mb": "peak RSS MB"}


def peak_columns(statuses: list[RunStatus]) -> list[tuple[str, str]]:
    """(figure, label) of the peaks a comparison shows: CPU, memory and each GPU's
    memory, for the figures at least one of the runs recorded."""
    recorded: list[str] = []
    for status in statuses:
        peaks = status.sys_peaks
        if isinstance(peaks, Mapping):
            recorded.extend(k for k in peaks if k not in recorded)
    shown = [k for k in _PEAK_LABELS if k in recorded]
    shown += sorted(k for k in recorded if k.startswith("gpu") and k.endswith("_mem_mb"))
    return [(k, _PEAK_LABELS.get(k) or f"peak {k.removesuffix('_mem_mb')} MB") for k in shown]


def peak_of(status: RunStatus, figure: str) -> Any:
    return status.sys_peaks.get(figure)


def first_training_metric(names: Any) -> str:
    """The first name that is not a system figure ("" if none): the metric shown for a
    run that declares none."""
    return next((name for name in names if not is_system_metric(name)), "")
