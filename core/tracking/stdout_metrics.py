"""Metrics from the stdout of scripts that know nothing of dltui.

`loss: 0.21`, `loss=0.21`, `acc: 91.3%` anywhere on a line become metrics;
`epoch 3`, `Epoch 3/15` and `step: 120` set the step (and the total, for an
ETA). Logging prefixes, ANSI colour codes and tqdm's carriage-return redraws
are tolerated: `INFO: epoch 3 loss=0.21 acc: 0.9` gives step 3, loss and acc.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_ANSI = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf)"
_PAIR = re.compile(
    r"(?<![\w.\-/])([A-Za-z_][\w.\-/]*?)\s*[:=]\s*(" + _NUMBER + r")(%?)(?![\w.:/])",
    re.IGNORECASE,
)
_STEP = re.compile(
    r"(?<![\w])(epoch|step|iter|iteration)s?\s*[:=#]?\s*(\d+)(?:\s*/\s*(\d+))?(?![\w.])",
    re.IGNORECASE,
)
_STEP_WORDS = frozenset({"epoch", "step", "iter", "iteration", "epochs", "steps"})


@dataclass
class ParsedLine:
    step: int | None = None
    total: int | None = None
    values: dict[str, float] = field(default_factory=dict)


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def parse_line(raw: str) -> ParsedLine:
    """Metrics, step and total found on one line of output (after its last `\\r`)."""
    line = strip_ansi(raw.rsplit("\r", 1)[-1])
    parsed = ParsedLine()
    step_match = _STEP.search(line)
    if step_match:
        parsed.step = int(step_match.group(2))
        if step_match.group(3):
            parsed.total = int(step_match.group(3))
    for key, number, percent in _PAIR.findall(line):
        if key.lower() in _STEP_WORDS:
            continue
        value = float(number)
        parsed.values[key] = value / 100.0 if percent else value
    return parsed
