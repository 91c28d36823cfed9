"""A run's state, exit code, progress, ETA, params and summary in a few lines."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive

from dltui.store import rundir as rd
from dltui.tracking.stream import is_number
from dltui.tui.text import (
    STATE_STYLES,
    duration,
    eta,
    literal,
    number,
    params_label,
    progress,
    state_label,
)
from dltui.tui.views import RunView
from dltui.tui.widgets.gpu_panel import bar
from dltui.tui.widgets.stacked_text import StackedText, text_height

_SIGNALS = {1: "SIGHUP", 2: "SIGINT", 9: "SIGKILL", 15: "SIGTERM"}


def exit_label(code: int) -> str:
    """`exit code 1`, or `stopped (SIGTERM)` for a process ended by a signal."""
    if isinstance(code, int) and code < 0:
        name = _SIGNALS.get(-code, f"signal {-code}")
        return f"stopped ({name})"
    return f"exit code {code}"


def render_run_status(view: RunView | None, *, tensorboard: str = "") -> Text:
    out = Text(no_wrap=True, overflow="ellipsis", end="")
    if view is None:
        out.append("reading the run…", style="dim")
        return out
    info, digest = view.info, view.digest
    status = info.status
    out.append(state_label(info.state), style=STATE_STYLES.get(info.state, ""))
    out.append("  ")
    out.append_text(literal(info.ref, "bold"))
    if info.state in (rd.RUNNING, rd.STARTING) and status.pid:
        out.append(f"  pid {status.pid}", style="dim")
    gpu_ids = status.gpu_ids
    if gpu_ids:
        out.append("  GPU " + ",".join(str(g) for g in gpu_ids), style="dim")
    elif info.state != rd.QUEUED:
        out.append("  CPU", style="dim")
    code = status.exit_code
    if code is not None:
        out.append(f"  {exit_label(code)}", style="bold red" if code and code > 0 else
                   "yellow" if code else "green")
    if status.error:
        out.append("\n")
        out.append_text(literal(str(status.error), "red"))
    out.append("\nprogress ")
    step, total = digest.step, digest.total
    fraction = step / total if step is not None and total else None
    out.append(bar(fraction, 20), style="cyan")
    out.append(f" {progress(step, total) or '-'}")
    if digest.eta is not None and not info.is_final:
        out.append(f"  ETA {eta(digest.eta)}")
    if info.duration is not None and info.state != rd.QUEUED:  # a requeued run waits anew
        out.append(f"  {'took' if info.is_final else 'elapsed'} {duration(info.duration)}")
    if info.state == rd.QUEUED and status.waits_for:
        out.append("  waiting for " + ", ".join(status.waits_for), style="dim")
    if digest.metrics:  # the newest values at once; the charts are redrawn less often
        main = info.spec.metric
        names = sorted(digest.metrics, key=lambda name: name != main)
        out.append("\nlast     ")
        out.append_text(literal("  ".join(f"{name} {number(digest.metrics[name].last)}"
                                          for name in names)))
    out.append("\nparams   ")
    out.append_text(literal(params_label(info.spec.params) or "(none)"))
    summary = {k: v for k, v in view.summary.items() if is_number(v) or isinstance(v, str)}
    if summary:
        out.append("\nsummary  ")
        out.append_text(literal("  ".join(f"{k}={number(v) if is_number(v) else v}"
                                          for k, v in summary.items())))
    if tensorboard:
        out.append("\nTensorBoard ")
        out.append(tensorboard, style="bold underline")
    return out


class RunStatus(StackedText):
    """The status lines; a new view repaints the lines that changed (the step and the
    newest values, mostly), and lays the screen out again only when their number
    changes (a layout costs every widget of the screen a redraw)."""

    DEFAULT_CSS = """
    RunStatus { height: auto; padding: 0 1; }
    """
    view: reactive[RunView | None] = reactive(None, layout=False, repaint=False)
    tensorboard: reactive[str] = reactive("", layout=True)
    _lines = 0
    _text: Text | None = None  # what render() draws, until the view or the clock moves

    def watch_view(self) -> None:
        self._text = None
        lines = text_height(self.render())
        if lines != self._lines:
            self._lines = lines
            self.refresh(layout=True)
        else:
            self.repaint()

    def watch_tensorboard(self) -> None:
        self._text = None

    def tick(self) -> None:
        """Draw the elapsed time and ETA again (they move between two views)."""
        self._text = None
        self.repaint()

    def render(self) -> Text:
        if self._text is None:
            self._text = render_run_status(self.view, tensorboard=self.tensorboard)
        return self._text

    def stack(self) -> list[Text]:
        text = self.render()
        lines = list(text.split("\n", allow_blank=True))
        for line in lines:  # split() keeps the overflow, not the rest
            line.no_wrap, line.end = text.no_wrap, ""
        return lines
