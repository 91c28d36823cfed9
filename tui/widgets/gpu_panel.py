"""GPU memory and utilisation bars; nothing at all where there is no GPU."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from dltui.queue.gpus import Gpu
from dltui.tui.text import clean

_BAR = 12


def bar(fraction: float | None, width: int = _BAR) -> str:
    """`███████░░░░░` for a fraction in 0..1; blanks when unknown."""
    if fraction is None:
        return "·" * width
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "█" * filled + "░" * (width - filled)


def gpu_line(gpu: Gpu) -> str:
    total, used, util = gpu.memory_total_mib, gpu.memory_used_mib, gpu.utilization
    memory = used / total if total and used is not None else None
    mem_text = (f"{used / 1024:5.1f}/{total / 1024:.1f} GiB" if total and used is not None
                else "memory n/a")
    util_text = f"{util:3.0f}%" if util is not None else " n/a"
    return (f"GPU {gpu.index}  {clean(gpu.name)[:24]:<24}  mem {bar(memory)} {mem_text}  "
            f"util {bar(None if util is None else util / 100)} {util_text}")


def render_gpus(gpus: Sequence[Gpu]) -> Text:
    return Text("\n".join(gpu_line(g) for g in gpus), no_wrap=True, overflow="crop", end="")


class GpuPanel(Widget):
    DEFAULT_CSS = """
    GpuPanel { height: auto; padding: 0 1; display: none; }
    GpuPanel.-has-gpus { display: block; }
    """
    gpus: reactive[tuple[Gpu, ...]] = reactive((), layout=True)

    def watch_gpus(self, gpus: tuple[Gpu, ...]) -> None:
        self.set_class(bool(gpus), "-has-gpus")

    def render(self) -> Text:
        return render_gpus(self.gpus)
