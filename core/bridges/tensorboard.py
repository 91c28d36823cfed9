"""Starting TensorBoard on chosen runs, bound to the loopback address."""

from __future__ import annotations

import sys
from collections.abc import Iterable

from dltui.errors import UserError
from dltui.store.runs import RunInfo


def logdir_spec(runs: Iterable[RunInfo]) -> str:
    """TensorBoard's `--logdir_spec`: `experiment/run-id:path,...` with names it can parse."""
    parts = []
    for info in runs:
        name = f"{info.experiment}/{info.run_id}".replace(",", "_").replace(":", "_")
        parts.append(f"{name}:{info.dir.tb_dir}")
    return ",".join(parts)


def tensorboard_argv(runs: list[RunInfo], *, port: int = 6006,
                     host: str = "127.0.0.1") -> list[str]:
    if not runs:
        raise UserError("no runs to show in TensorBoard", fix="run something first, or check "
                        "the selection with `dltui ps --all`")
    return [sys.executable, "-m", "tensorboard.main", "--logdir_spec", logdir_spec(runs),
            "--host", host, "--port", str(port), "--reload_interval", "2"]
