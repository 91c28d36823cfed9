"""Plain text for the screens: run states, numbers, params, cleaned log lines.

Everything a run or a script wrote is shown literally: these helpers return
`rich.text.Text` built from plain strings, never from markup.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from rich.text import Text

from dltui.store import rundir as rd
from dltui.tracking.stdout_metrics import strip_ansi
from dltui.views.numbers import format_duration, format_value, plural  # noqa: F401 (re-export)

STATE_SYMBOLS = {
    rd.QUEUED: "…",
    rd.STARTING: "▷",
    rd.RUNNING: "▶",
    rd.SUCCEEDED: "✓",
    rd.FAILED: "✗",
    rd.KILLED: "■",
    rd.LOST: "?",
    rd.TIMEOUT: "⊘",
    rd.PREEMPTED: "↻",
    rd.PRUNED: "✂",
}
STATE_STYLES = {
    rd.QUEUED: "dim",
    rd.STARTING: "cyan",
    rd.RUNNING: "bold cyan",
    rd.SUCCEEDED: "green",
    rd.FAILED: "bold red",
    rd.KILLED: "yellow",
    rd.LOST: "magenta",
    rd.TIMEOUT: "bold yellow",
    rd.PREEMPTED: "yellow",
    rd.PRUNED: "blue",
}
# The order states are summarised in: what needs attention first.
STATE_ORDER = (rd.RUNNING, rd.STARTING, rd.QUEUED, rd.FAILED, rd.LOST, rd.TIMEOUT, rd.PREEMPTED,
               rd.KILLED, rd.PRUNED, rd.SUCCEEDED)

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(text: str) -> str:
    """One line fit to show: colour codes and control characters removed, tabs expanded."""
    return _CONTROL.sub("", strip_ansi(text.rsplit("\r", 1)[-1]).expandtabs(4)).rstrip("\n")


def state_label(state: str) -> str:
    return f"{STATE_SYMBOLS.get(state, '·')} {state}" if state else ""


def state_counts_label(counts: Mapping[str, int]) -> str:
    """`▶1 …2 ✓3`: how many runs are in each state, the ones that need attention first."""
    if not counts:
        return ""
    if len(counts) == 1:
        (state, count), = counts.items()
        return state_label(state) if count == 1 else f"{STATE_SYMBOLS.get(state, '·')}{count} " \
            f"{state}"
    parts = [f"{STATE_SYMBOLS.get(s, '·')}{counts[s]}" for s in STATE_ORDER if counts.get(s)]
    parts += [f"·{n}" for s, n in counts.items() if s not in STATE_ORDER and n]
    return " ".join(parts)


def number(value: Any) -> str:
    """A metric value in at most four significant digits, as logged: 0.6, 2.205, 0.0513;
    blank when there is none. A column of them goes through `column_numbers`."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "" if value is None else str(value)
    if isinstance(value, float) and not value.is_integer():
        if abs(value) >= 10_000:
            return f"{value:,.0f}"
        if abs(value) < 1e-3:
            return f"{value:.3e}"
        return f"{value:.4g}"  # in this range: no exponent, trailing zeros dropped
    return format_value(value)


def _decimals(value: float, digits: int) -> int:
    """The decimals `value` needs for at most `digits` significant digits, trailing zeros
    dropped: 0.6 needs 1, 2.3049 needs 3."""
    if not value:
        return 0
    most = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    shown = f"{value:.{most}f}"
    return len(shown.rstrip("0").split(".")[1]) if "." in shown else 0


def column_numbers(values: list[Any], digits: int = 4) -> list[str]:
    """Numbers of one column with one number of decimals: as many as its values need,
    up to `digits` significant digits of the largest (2.205 / 2.300 / 2.302; 0.6 alone
    stays 0.6). Other values as `number` shows them."""
    finite = [v for v in values if isinstance(v, float) and math.isfinite(v)
              and not v.is_integer() and 1e-3 <= abs(v) < 10_000]
    if not finite:
        return [number(v) for v in values]
    largest = max(abs(v) for v in finite)
    most = max(0, min(6, digits - 1 - math.floor(math.log10(largest))))
    decimals = min(most, max(_decimals(v, digits) for v in finite))
    return [f"{v:.{decimals}f}" if isinstance(v, float) and math.isfinite(v)
            and (v == 0 or 1e-3 <= abs(v) < 10_000) else number(v) for v in values]


def duration(seconds: float | None) -> str:
    return "" if seconds is None else format_duration(seconds)


def eta(seconds: float | None) -> str:
    return "" if seconds is None else f"~{format_duration(seconds)}"


def progress(step: Any, total: Any) -> str:
    """`3/15` or `step 3`, blank before the first step."""
    if step is None:
        return ""
    shown = number(step)
    return f"{shown}/{number(total)}" if total is not None else f"step {shown}"


def params_label(params: Mapping[str, Any], keys: list[str] | None = None) -> str:
    """`lr=0.1 epochs=3`, limited to `keys` when given."""
    chosen = keys if keys is not None else list(params)
    return " ".join(f"{k}={_param(params[k])}" for k in chosen if k in params)


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ",".join(_param(v) for v in value)
    return clean(str(value))


def overrides_text(params: Mapping[str, Any]) -> str:
    """The params as the launch dialog takes them back: `lr=0.1 epochs=3`."""
    parts = []
    for key, value in params.items():
        shown = _param(value)
        if not shown or " " in shown or '"' in shown:
            shown = '"' + shown.replace('"', '\\"') + '"'
        parts.append(f"{key}={shown}")
    return " ".join(parts)


def literal(text: str, style: str = "") -> Text:
    """Text shown exactly as written: no markup, no control characters."""
    return Text(clean(text), style=style, no_wrap=True, overflow="ellipsis")
