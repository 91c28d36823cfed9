"""The parameter-count calculator: a one-line spec in, every layer's numbers out.

    >>> from dltui.params import parse_spec, count_parameters, format_report
    >>> report = count_parameters(parse_spec("28x28x3 | flatten | linear 100 | linear 10"))
    >>> report.total
    236310

The spec grammar is in `dltui.params.spec`. This package never imports torch.
"""

from __future__ import annotations

from dltui.params.breakdown import (
    MemoryRow,
    ParamReport,
    ParamRow,
    count_parameters,
    format_report,
)
from dltui.params.builtin import spec_for_task
from dltui.params.layers import KINDS
from dltui.params.layers_common import Layer
from dltui.params.spec import Architecture, Part, load_models_toml, parse_spec

__all__ = [
    "KINDS",
    "Architecture",
    "Layer",
    "MemoryRow",
    "ParamReport",
    "ParamRow",
    "Part",
    "count_parameters",
    "format_report",
    "load_models_toml",
    "parse_spec",
    "spec_for_task",
]
