"""A comparison table as text: plain columns, Markdown, CSV, LaTeX (booktabs) and JSON."""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

from dltui.errors import UserError
from dltui.views.compare import CompareTable
from dltui.views.numbers import format_value

FORMATS = ("table", "md", "csv", "latex", "json")
NUMERIC_KINDS = ("last", "best", "summary", "duration", "count", "p")  # right-aligned


def _cells(table: CompareTable) -> list[list[str]]:
    return [[format_value(row.get(c.key), c.kind) for c in table.columns] for row in table.rows]


def render(table: CompareTable, fmt: str = "table") -> str:
    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}", fix=f"use one of {', '.join(FORMATS)}")
    headers = [c.label for c in table.columns]
    # Machine formats name columns by what they hold ("param:lr", "best:val_acc"), so that a
    # label the manifest gives ("Learning Rate") never breaks a script that reads them.
    if fmt == "json":  # a run a line: readable, and each line encoded in C
        keys = [c.key for c in table.columns]
        lines = [_json_line({key: row.get(key) for key in keys}) for row in table.rows]
        return "[\n" + ",\n".join(lines) + "\n]\n" if lines else "[]\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([c.key for c in table.columns])
        for row in table.rows:
            writer.writerow(["" if row.get(c.key) is None else row.get(c.key)
                             for c in table.columns])
        return out.getvalue()
    cells = _cells(table)
    if fmt == "md":
        escape = [[cell.replace("|", "\\|") for cell in line] for line in [headers, *cells]]
        aligns = ["---:" if c.kind in NUMERIC_KINDS else "---"
                  for c in table.columns]
        lines = ["| " + " | ".join(escape[0]) + " |", "| " + " | ".join(aligns) + " |"]
        lines += ["| " + " | ".join(line) + " |" for line in escape[1:]]
        return "\n".join(lines) + "\n"
    if fmt == "latex":
        spec = "".join("r" if c.kind in NUMERIC_KINDS else "l"
                       for c in table.columns)
        lines = [f"\\begin{{tabular}}{{{spec}}}", "\\toprule",
                 " & ".join(_latex(h) for h in headers) + " \\\\", "\\midrule"]
        lines += [" & ".join(_latex(cell) for cell in line) + " \\\\" for line in cells]
        lines += ["\\bottomrule", "\\end{tabular}"]
        return "\n".join(lines) + "\n"
    widths = [max(len(h), *(len(line[i]) for line in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    right = [c.kind in NUMERIC_KINDS for c in table.columns]

    def line(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if r else v.ljust(w)
                         for v, w, r in zip(values, widths, right, strict=True)).rstrip()

    return "\n".join([line(headers), *(line(c) for c in cells)]) + "\n"


def _json_line(row: dict[str, Any]) -> str:
    try:  # most rows: numbers, text and means over seeds ({mean, std, n})
        return json.dumps(row, allow_nan=False, default=_to_json)
    except ValueError:  # a NaN or an infinity, which JSON cannot hold: null
        return json.dumps(_finite(row), allow_nan=False, default=str)


def _to_json(value: Any) -> Any:
    if hasattr(value, "to_json"):
        return value.to_json()
    return str(value)


def _finite(value: Any) -> Any:
    """`value` with every NaN and infinity, however deep, as None."""
    if hasattr(value, "to_json"):
        value = value.to_json()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


_LATEX_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
                  "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  "\\": r"\textbackslash{}"}


def _latex(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text).replace(" ± ", r" $\pm$ ")
