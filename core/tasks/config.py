"""What every built-in task shares: its config from run params and argv, device, seed.

A task declares a dataclass of settings with defaults. Values come, last wins,
from the defaults, the launcher's params (run.json) and `key=value` arguments,
so `python -m dltui.tasks.cnn epochs=1 lr=0.1` works by hand too.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Sequence
from typing import Any, TypeVar

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ConfigT = TypeVar("ConfigT")


def parse_value(text: str) -> Any:
    """A TOML literal (`0.1`, `true`, `[1, 2]`, `"x"`) or else the text itself."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def load_config(cls: type[ConfigT], params: dict[str, Any],
                argv: Sequence[str] | None = None) -> ConfigT:
    """An instance of the dataclass `cls` from its defaults, `params`, then `key=value` argv."""
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for key, value in params.items():
        if key in fields:
            values[key] = value
    for arg in sys.argv[1:] if argv is None else argv:
        key, sep, text = arg.partition("=")
        key = key.lstrip("-").replace("-", "_")
        if not sep or key not in fields:
            known = ", ".join(sorted(fields))
            sys.exit(f"unknown setting {arg!r}; settings are key=value with key one of: {known}")
        values[key] = parse_value(text)
    for key, value in values.items():
        default = fields[key].default
        if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            values[key] = float(value)
    return cls(**values)


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
