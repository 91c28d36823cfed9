"""What every built-in task shares: its config from run params and argv, device, seed.

A task declares a dataclass of settings with defaults. Values come, last wins,
from the defaults, the launcher's params (run.json) and `key=value` arguments,
so `python -m dltui.tasks.cnn epochs=1 lr=0.1` works by hand too.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import sys
from collections.abc import Sequence
from typing import Any, TypeVar

from dltui.errors import UserError
from dltui.literals import parse_value

ConfigT = TypeVar("ConfigT")


def load_config(cls: type[ConfigT], params: dict[str, Any],
                argv: Sequence[str] | None = None) -> ConfigT:
    """An instance of the dataclass `cls` from its defaults, `params`, then `key=value` argv.

    Each value must have its default's type (an int where a float is expected is taken,
    and numbers given as text are read as numbers); otherwise UserError names the
    setting, as does an unknown key in argv."""
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for key, value in params.items():
        if key in fields:
            values[key] = value
    for arg in sys.argv[1:] if argv is None else argv:
        key, sep, text = arg.partition("=")
        key = key.lstrip("-").replace("-", "_")
        if not sep or key not in fields:
            close = difflib.get_close_matches(key, fields, n=1)
            known = ", ".join(sorted(fields))
            raise UserError(f"unknown setting {arg!r}" + (f"; did you mean {close[0]!r}?"
                                                           if sep and close else ""),
                            fix=f"settings are key=value with key one of: {known}")
        values[key] = text if isinstance(fields[key].default, str) else parse_value(text)
    return cls(**{key: typed_setting(key, value, fields[key].default)
                  for key, value in values.items()})


def typed_setting(key: str, value: Any, default: Any) -> Any:
    """`value` as the type of `default` (numbers given as text read as numbers); UserError
    naming the setting when it cannot be."""
    wanted = type(default)
    if wanted not in (bool, int, float, str):
        return value
    if isinstance(value, str) and wanted is not str:
        value = parse_value(value)
    if wanted is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if wanted is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # a prompt or a path that happens to be a number
    if isinstance(value, wanted) and (wanted is bool) == isinstance(value, bool):
        return value
    kinds = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}
    raise UserError(f"setting {key} is {value!r}, not {kinds[wanted]}",
                    fix=f"give {key} {kinds[wanted]} (its default is {default!r})")


def pick_device() -> Any:
    """CUDA when the launcher made a GPU visible, else the CPU.

    On the CPU, an explicit OMP_NUM_THREADS wins over "every core": several runs
    sharing the cores, each with a thread per core, slow each other down
    several times over.
    """
    import torch

    if torch.cuda.is_available():
        return torch.device("cuda")
    threads = os.environ.get("OMP_NUM_THREADS", "")
    wanted = int(threads) if threads.isdigit() and int(threads) > 0 else None
    torch.set_num_threads(wanted or max(1, len(os.sched_getaffinity(0))))
    return torch.device("cpu")


def seed_everything(seed: int) -> None:
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
