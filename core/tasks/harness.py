"""What a task takes from outside itself: earlier runs it needs, the shapes cache, user errors.

The launcher writes `"needs": {"pretrain-vit": "/abs/run/dir"}` into a run's
status.json before starting it (`run.needs`); a task started by hand names the
same run with a `key=/abs/run/dir` setting instead.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import dltui
from dltui.errors import UserError
from dltui.tasks.config import load_config

ConfigT = TypeVar("ConfigT")


def start_task(cls: type[ConfigT], experiment: str) -> tuple[Any, ConfigT]:
    """The run and its config: defaults, then the launcher's params, then key=value argv.

    A run started by hand records its whole config in run.json, so that
    `dltui compare` shows the settings of hand-made sweeps too; every run also
    writes the config it resolved to artifacts/config.json.
    """
    try:
        by_hand = load_config(cls, {})
    except UserError as err:
        fail(None, err)
    run = dltui.init(experiment=experiment, params=dataclasses.asdict(by_hand))  # type: ignore[call-overload]
    try:
        config = load_config(cls, run.params)
    except UserError as err:
        fail(run, err)
    resolved = dataclasses.asdict(config)  # type: ignore[call-overload]
    run.save_artifact("config.json", json.dumps(resolved, indent=1) + "\n")
    return run, config


def runs_dir() -> Path:
    return Path(os.environ.get("DLTUI_RUNS_DIR") or "runs")


def shapes_cache() -> Path:
    """Where the embedded data set's splits are kept between runs."""
    return runs_dir() / ".cache" / "shapes"


def needed_run(run: Any, experiment: str, given: str = "", *, setting: str) -> Path:
    """The finished run of `experiment` this run builds on: `given` if set, else run.needs."""
    if given:
        path = Path(given).expanduser()
    elif experiment in run.needs:
        path = Path(run.needs[experiment])
    else:
        raise UserError(
            f"this run needs a finished {experiment!r} run and none was given",
            fix=f"declare `needs = [\"{experiment}\"]` for this experiment in experiments.toml "
                f"(dltui then passes the chosen run), or by hand pass {setting}=/path/to/run/dir",
        )
    if not (path / "artifacts").is_dir():
        raise UserError(f"{path} is not a run directory with artifacts/",
                        fix=f"point {setting} at a finished {experiment!r} run directory")
    return path


def fail(run: Any, error: UserError) -> NoReturn:
    """End the task on a user error: the message on stderr, exit code 2, no traceback."""
    print(f"error: {error.message}", file=sys.stderr)
    if run is not None:
        run.finish(2)
    sys.exit(2)
