"""Counting a parsed architecture layer by layer, and printing the result.

`count_parameters` gives plain dataclasses a screen can render; `format_report`
gives what `dltui params SPEC --format table|json|md` prints.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field

from dltui.errors import UserError
from dltui.params.layers import KINDS
from dltui.params.layers_common import Context, LayerProblem, Shape, show
from dltui.params.layers_common import fmt as commas
from dltui.params.spec import Architecture

# Bytes per value of each storage type a person weighs a model in.
DTYPES: tuple[tuple[str, int], ...] = (("fp32", 4), ("fp16/bf16", 2), ("int8", 1))


@dataclass
class ParamRow:
    """One layer (or a part's input) as a table row."""

    index: str  # "3", or "5.2" for the 2nd copy of a repeated layer; "0" for an input
    name: str  # the resolved kind: conv2d, maxpool2d, linear, ...
    text: str  # the layer as typed
    output_shape: str  # "24x24x8"
    params: int
    formula: str  # "5*5*3*8 + 8 = 608"
    shape_formula: str  # "(28 - 5)/1 + 1 = 24"
    trainable: bool
    notes: list[str] = field(default_factory=list)
    buffers: int = 0  # saved state that is not a parameter (batchnorm running statistics)
    part: str = ""  # the part's name in a spec with several parts
    shape: Shape = ()  # output_shape as numbers
    activations: int = 0  # values in the output for one sample


@dataclass
class MemoryRow:
    dtype: str
    bytes_per_value: int
    parameters_bytes: int
    activations_bytes: int  # one sample's activations: the inputs and every layer's output


@dataclass
class ParamReport:
    spec: str
    name: str
    rows: list[ParamRow]
    total: int
    trainable: int
    frozen: int
    buffers: int
    activations: int
    memory: list[MemoryRow]
    outputs: list[str]  # the final shape of each part

    @property
    def layers(self) -> list[ParamRow]:
        return [row for row in self.rows if row.name != "input"]


def count_parameters(arch: Architecture) -> ParamReport:
    """Every layer's output shape, parameters and formulas, the totals and the memory.

    Raises `UserError` naming the layer (position and text) and the numbers that do not fit.
    """
    prefix = f"{arch.source}: " if arch.source else ""
    rows: list[ParamRow] = []
    outputs = []
    for part in arch.parts:
        shape = part.input_shape
        rows.append(ParamRow("0", "input", show(shape), show(shape), 0, "", "", True,
                             part=part.name, shape=shape, activations=math.prod(shape)))
        ctx = Context()
        for layer in part.layers:
            try:
                out = KINDS[layer.kind].infer(layer, shape, ctx)
            except LayerProblem as exc:
                origin = f" (in `{layer.repeat_of}`)" if layer.repeat_of else ""
                raise UserError(exc.problem, fix=exc.fix,
                                where=f"{prefix}layer {layer.label} `{layer.text}`{origin}"
                                ) from None
            shape = out.shape
            rows.append(ParamRow(layer.label, out.name or layer.kind, layer.text, show(shape),
                                 out.params, out.formula, out.shape_formula, not layer.frozen,
                                 out.notes, out.buffers, part.name, shape, math.prod(shape)))
        outputs.append(show(shape))
    total = sum(r.params for r in rows)
    trainable = sum(r.params for r in rows if r.trainable)
    activations = sum(r.activations for r in rows)
    memory = [MemoryRow(dtype, size, total * size, activations * size) for dtype, size in DTYPES]
    return ParamReport(arch.text, arch.name, rows, total, trainable, total - trainable,
                       sum(r.buffers for r in rows), activations, memory, outputs)


def human_bytes(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            break
    return f"{value:,.1f} {unit}"


def _totals_lines(report: ParamReport) -> list[str]:
    lines = [f"total parameters: {commas(report.total)} (trainable {commas(report.trainable)}, "
             f"frozen {commas(report.frozen)})"]
    if report.buffers:
        lines.append(f"buffers (not parameters): {commas(report.buffers)}")
    return lines


def _notes(report: ParamReport) -> list[tuple[str, str, str]]:
    """(index, text, note) of every note, a repeated layer's once."""
    seen: set[tuple[str, str]] = set()
    out = []
    for r in report.rows:
        for note in r.notes:
            if (r.text, note) not in seen:
                seen.add((r.text, note))
                out.append((r.index, r.text, note))
    return out


def _table(report: ParamReport) -> str:
    frozen = any(not r.trainable for r in report.rows)
    head = ["#", "layer", "output", "params", "formula", "output size"] + (
        ["frozen"] if frozen else [])
    body: list[list[str] | str] = []
    for r in report.rows:
        if r.name == "input" and len(report.outputs) > 1:
            body.append(f"part {r.part}" if r.part else "part")
        cells = [r.index, r.text if r.name != "input" else "input " + r.text, r.output_shape,
                 commas(r.params), r.formula, r.shape_formula]
        body.append(cells + (["yes" if not r.trainable else ""] if frozen else []))
    widths = [max(len(row[i]) for row in [head, *body] if isinstance(row, list))
              for i in range(len(head))]
    right = {0, 3}

    def line(cells: list[str]) -> str:
        out = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in
               enumerate(zip(cells, widths, strict=True))]
        return "  ".join(out).rstrip()

    lines = [report.spec, "", line(head)]
    for row in body:
        lines.append(line(row) if isinstance(row, list) else row + ":")
    notes = [f"  {index} {text}: {note}" for index, text, note in _notes(report)]
    if notes:
        lines += ["", "notes:", *notes]
    lines += ["", *_totals_lines(report), "",
              f"memory (activations: {commas(report.activations)} values for one sample)"]
    mem = [["dtype", "parameters", "activations"]] + [
        [m.dtype, human_bytes(m.parameters_bytes), human_bytes(m.activations_bytes)]
        for m in report.memory]
    mw = [max(len(r[i]) for r in mem) for i in range(3)]
    lines += ["  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, mw, strict=True))) for r in mem]
    return "\n".join(lines) + "\n"


def _md(report: ParamReport) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [f"`{cell(report.spec)}`", "",
             "| # | layer | output | params | formula | output size | trainable |",
             "|--:|---|---|--:|---|---|---|"]
    for r in report.rows:
        text = r.text if r.name != "input" else f"input {r.text}"
        if r.part:
            text = f"{r.part}: {text}"
        lines.append(f"| {r.index} | {cell(text)} | {r.output_shape} | {commas(r.params)} | "
                     f"{cell(r.formula)} | {cell(r.shape_formula)} | "
                     f"{'yes' if r.trainable else 'no'} |")
    notes = [f"- {index} `{text}`: {note}" for index, text, note in _notes(report)]
    lines += ["", *[f"**{line}**" if i == 0 else line
                    for i, line in enumerate(_totals_lines(report))]]
    if notes:
        lines += ["", *notes]
    lines += ["", f"Memory (activations: {commas(report.activations)} values for one sample):", "",
              "| dtype | parameters | activations |", "|---|--:|--:|"]
    lines += [f"| {m.dtype} | {human_bytes(m.parameters_bytes)} | "
              f"{human_bytes(m.activations_bytes)} |" for m in report.memory]
    return "\n".join(lines) + "\n"


def format_report(report: ParamReport, *, fmt: str = "table") -> str:
    """The report as plain aligned text ("table"), JSON ("json") or Markdown ("md")."""
    if fmt == "table":
        return _table(report)
    if fmt == "md":
        return _md(report)
    if fmt == "json":
        data = dataclasses.asdict(report)
        data["layers"] = len(report.layers)
        return json.dumps(data, indent=2) + "\n"
    raise UserError(f"unknown format `{fmt}`", fix="use one of: table, json, md")


__all__ = ["DTYPES", "MemoryRow", "ParamReport", "ParamRow", "count_parameters",
           "format_report", "human_bytes"]
