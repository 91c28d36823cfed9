"""Metrics from one line of output of a script that knows nothing of dltui.

The rule (the README's "Watching your own script" shows it with examples):

- a metric is `name: number` or `name=number` (`loss: 0.21`, `acc=91.3%` is 0.913,
  `Accuracy: 256/256` is 1.0, `22,562` is 22562), or a number in a Python dict or
  JSON object (`{'loss': '0.6926', 'epoch': '0.25'}`, quoted numbers included);
- a name is a printable ASCII identifier (`val/bleu4`, `model.layer-1/norm`); a
  name of several words counts only when the words before the last are qualifiers
  (`Validation loss: 0.5` is `validation_loss`), and a line that starts with a
  split (`Test set: ...`) puts it before its names (`test_average_loss`);
- `epoch 3`, `Epoch 3/10`, `step: 120` say where the run is; a bar's position
  (`4/10 [00:01<...]`, `[128/1280 (10%)]`, Keras' `8/8 ━━━`) says where it is
  within the epoch;
- not metrics: config dumps (`Num examples = 256`, `Total optimization steps = 32`),
  counts in prose (`using: 0 TPU cores`), text in backticks (`max_epochs=3`),
  clock times, places in code written tight (`train.py:35`, `__main__:main:35`),
  and any line with control characters or bytes that are not text.

`parse_line` reads one line; `stdout_steps.StdoutSteps` turns a stream of parsed
lines into records, one per step.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field

_ANSI = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
# Without one of these characters a line holds no metric, and without a digit no step:
# most lines of a log are told in well under a µs.
_SIGNS = (":", "=", "{", "/")
_DIGITS = "0123456789"
_STEP_HINTS = ("poch", "tep", "ter")  # epoch, step, iter: looked for in the lowered line
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufffd]")
_INT = r"\d{1,3}(?:,\d{3})+(?![\d])|\d+"
_NUMBER = (r"[-+]?(?:(?:" + _INT + r")(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
           r"|[-+]?(?:nan|inf)(?![A-Za-z])")
# What follows a separator when a metric's value does (`0.21`, `91.3%`, `256/256`).
_VALUE = re.compile(r"([ \t]*)(" + _NUMBER + r")(?:/(" + _INT + r"))?(%?)(?![\w.:/`'\"])",
                    re.IGNORECASE | re.ASCII)
_KEY_BEFORE = re.compile(r"[A-Za-z_][\w.\-/]*([ \t]*)\Z", re.ASCII)
_STEP = re.compile(
    r"(?<![\w/])(epoch|step|iter|iteration|global_step)s?[ \t]*[:=#]?[ \t]*(\d+)"
    r"(?:[ \t]*/[ \t]*(\d+))?(?![\w.])",
    re.IGNORECASE | re.ASCII,
)
_POSITION = re.compile(r"(?<![\w./:=\-])(" + _INT + r")[ \t]*/[ \t]*(" + _INT + r")"
                       r"(?=[ \t]*[\[(|]|[ \t]*\u2501|[ \t]|$)", re.ASCII)
_EVAL_BAR = re.compile(r"valid|test|sanity|predict|eval", re.IGNORECASE)
_DICT = re.compile(r"\{[^{}]*\}")
_SPLIT = re.compile(r"^\W*(train|training|val|valid|validation|test|testing|eval|evaluation|dev)"
                    r"(?:[ \t]+set)?[ \t]*:[ \t]+(?=[A-Za-z])", re.IGNORECASE | re.ASCII)
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z0-9]*)[ \t]+\Z", re.ASCII)
_NEXT_WORD = re.compile(r"[ \t]+([A-Za-z_][\w.\-/]*)(.?)", re.ASCII)
_NAME = re.compile(r"[A-Za-z_][\w.\-/]*", re.ASCII)

# Words that may stand before a metric's name: `train loss`, `Average loss`.
# Not "batch" nor "total": `Batch size = 16`, `Total optimization steps = 32` are config.
_QUALIFIERS = frozenset({"train", "training", "val", "valid", "validation", "test", "testing",
                         "eval", "evaluation", "dev", "average", "avg", "mean", "running",
                         "epoch", "top", "best", "final"})
# Words that end a phrase without being part of it: log levels.
_LEVELS = frozenset({"debug", "info", "warning", "warn", "error", "critical", "trace",
                     "success", "notice"})
# Words that may follow a metric's value: units, not the rest of a sentence.
_UNITS = frozenset({"s", "ms", "us", "sec", "secs", "seconds", "min", "mins", "h", "hours",
                    "kb", "mb", "gb", "tb", "kib", "mib", "gib", "tib", "it", "img", "samples",
                    "tokens", "x"})
_STEP_WORDS = frozenset({"epoch", "step", "iter", "iteration", "global_step", "epochs", "steps",
                         "iters", "iterations"})
# Lightning's logger version in its bar; `time` names a record's own time in the stream.
_NOT_METRICS = frozenset({"v_num", "time"})
_LONGEST_NAME = 80


@dataclass
class ParsedLine:
    """What one line says: metric values, and where the run is."""

    step: int | None = None  # the step or, failing that, the epoch the line names
    total: int | None = None  # of `step`: `Epoch 3/10` gives 10
    values: dict[str, float] = field(default_factory=dict)
    epoch: int | None = None
    epochs: int | None = None
    explicit_step: int | None = None  # from `step`/`iter`, not `epoch`
    position: tuple[int, int] | None = None  # a training bar's `done/total`


_NOTHING = ParsedLine()


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def parse_line(raw: str) -> ParsedLine:
    """Metrics and position found on one line of output (after its last `\\r`).

    The result for a line that holds nothing is a shared empty `ParsedLine`: read
    it, do not change it.
    """
    line = raw.rsplit("\r", 1)[-1] if "\r" in raw else raw
    if not any(sign in line for sign in _SIGNS) and not any(d in line for d in _DIGITS):
        return _NOTHING
    if "\x1b" in line:
        line = strip_ansi(line)
    # Separators with a value after and a name before: few, and cheap to find.
    pairs = [at for at in sorted(_places(line, ":") + _places(line, "=")) if _pair_at(line, at)]
    braces, slash = "{" in line, "/" in line
    lowered = line.lower()
    said_step = "poch" in lowered or "tep" in lowered or "ter" in lowered
    if not (pairs or braces or slash or said_step):
        return _NOTHING
    if (not line.isprintable() and _NOT_TEXT.search(line)) or "\ufffd" in line:
        return _NOTHING
    parsed = ParsedLine()
    if braces:
        line = _read_dicts(line, parsed)
        pairs = [at for at in pairs if line[at] != " "]
    prefix = ""
    split = _SPLIT.match(line)
    if split:
        prefix = split.group(1).lower() + "_"
    steps: list[tuple[int, int]] = []
    for match in (_STEP.finditer(line) if said_step else ()):
        if not _starts_clause(line, match.start()):
            continue  # `Num Epochs = 3`, `Total optimization steps = 32`: config
        steps.append(match.span())
        number = int(match.group(2))
        total = int(match.group(3)) if match.group(3) else None
        if match.group(1).lower() == "epoch":
            if parsed.epoch is None:
                parsed.epoch, parsed.epochs = number, total
        elif parsed.explicit_step is None:
            parsed.explicit_step = number
            parsed.total = total
    if parsed.explicit_step is not None:
        parsed.step = parsed.explicit_step
    elif parsed.epoch is not None:
        parsed.step, parsed.total = parsed.epoch, parsed.epochs
    if slash:
        parsed.position = _position(line, steps)
    for at in pairs:
        _add_pair(line, at, prefix, parsed.values)
    return parsed


def _pair_at(line: str, at: int) -> re.Match[str] | None:
    """The name before the separator at `line[at]` when a number follows it."""
    if at == 0 or not (line[at - 1].isalnum() or line[at - 1] in " \t_"):
        return None
    start = at - 1
    while start >= 0 and line[start].isdigit():
        start -= 1
    if start < at - 1 and (start < 0 or not (line[start].isalpha() or line[start] in "_.-/")):
        return None  # `12:00`, `2024-05-01 10:00`: a number before, not a name
    if _VALUE.match(line, at + 1) is None:
        return None
    return _KEY_BEFORE.search(line, max(0, at - _LONGEST_NAME - 8), at)


def _places(line: str, char: str) -> list[int]:
    """Every index of `char` in `line` (str.find: far faster than a regex scan)."""
    found = []
    at = line.find(char)
    while at >= 0:
        found.append(at)
        at = line.find(char, at + 1)
    return found


def _read_dicts(line: str, parsed: ParsedLine) -> str:
    """Values of the dicts and JSON objects on `line`; returns the line without them."""
    rest = line
    for match in _DICT.finditer(line):
        text = match.group(0)
        try:
            found = json.loads(text)
        except ValueError:
            try:
                found = ast.literal_eval(text)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                continue
        if not isinstance(found, dict):
            continue
        for key, value in found.items():
            number = _dict_number(value)
            if not isinstance(key, str) or number is None or not _is_name(key):
                continue
            if key in ("step", "global_step") and number.is_integer():
                parsed.explicit_step = int(number)
            elif key not in _NOT_METRICS:
                parsed.values[key] = number
        rest = rest.replace(text, " " * len(text), 1)
    return rest


def _dict_number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and 0 < len(value) < 40:
        try:
            return float(value.replace(",", ""))
        except ValueError:
            return None
    return None


def _is_name(key: str) -> bool:
    return len(key) <= _LONGEST_NAME and _NAME.fullmatch(key) is not None


def _starts_clause(line: str, start: int) -> bool:
    """Whether the word at `start` begins what is said, rather than ends a phrase
    (`train loss` and `INFO loss` do; `Num examples` does not)."""
    before = _WORD_BEFORE.search(line, max(0, start - 24), start)
    while before is not None:
        word = before.group(1).lower()
        if word in _LEVELS or word in ("nan", "inf"):  # a level, or the value before
            return True
        if word not in _QUALIFIERS:
            return False
        before = _WORD_BEFORE.search(line, max(0, before.start() - 24), before.start())
    return True


def _phrase(line: str, start: int) -> list[str]:
    words: list[str] = []
    before = _WORD_BEFORE.search(line, max(0, start - 24), start)
    while before is not None and before.group(1).lower() in _QUALIFIERS:
        words.insert(0, before.group(1).lower())
        before = _WORD_BEFORE.search(line, max(0, before.start() - 24), before.start())
    return words


def _position(line: str, steps: list[tuple[int, int]]) -> tuple[int, int] | None:
    for match in _POSITION.finditer(line):
        start = match.start()
        if any(lo <= start < hi for lo, hi in steps):
            continue  # `Epoch 3/10`
        before = line[:start].rstrip()
        if before.endswith((":", "=")):
            continue  # `Accuracy: 256/256` is a metric
        if _EVAL_BAR.search(before):
            continue  # a validation or test bar says nothing of training steps
        done, total = int(match.group(1).replace(",", "")), int(match.group(2).replace(",", ""))
        if 0 <= done <= total and total > 0:
            return done, total
    return None


def _add_pair(line: str, at: int, prefix: str, values: dict[str, float]) -> None:
    """The metric whose separator is at `line[at]`, if there is one."""
    value = _VALUE.match(line, at + 1)
    if value is None:
        return
    key = _KEY_BEFORE.search(line, max(0, at - _LONGEST_NAME - 8), at)
    if key is None or (key.start() > 0 and line[key.start() - 1] in "\\.-/`'\"_"):
        return
    if key.start() > 0 and (line[key.start() - 1].isalnum()):
        return
    space_after, number, of, percent = value.groups()
    space_before = key.group(1)
    separator = line[at]
    name = key.group(0)[: len(key.group(0)) - len(space_before)].rstrip(".-/")
    lowered = name.lower()
    if not name or lowered in _NOT_METRICS:
        return
    whole = "." not in number and "e" not in number.lower() and not of and not percent
    if lowered in _STEP_WORDS and whole:
        return  # a step, not a metric
    if separator == ":" and not space_before and not space_after and whole:
        return  # `train.py:35`, `__main__:main:35`: a place in code
    if not _ends_value(line, value.end()):
        return  # `using: 0 TPU cores`
    if not _starts_clause(line, key.start()):
        return
    words = _phrase(line, key.start())
    try:
        number_value = float(number.replace(",", ""))
        if of:
            number_value /= float(of.replace(",", ""))
    except ZeroDivisionError:
        return
    if percent:
        number_value /= 100.0
    if words or prefix:
        name = "_".join([*words, lowered])
        if prefix and not name.startswith(prefix):
            name = prefix + name
    values[name] = number_value


def _ends_value(line: str, end: int) -> bool:
    """Whether what follows a number lets it be a metric: the end, punctuation, a
    unit, or the next `name:`."""
    after = _NEXT_WORD.match(line, end)
    if after is None:
        return True
    word, then = after.groups()
    return then in (":", "=") or word.lower().split("/")[0] in _UNITS
