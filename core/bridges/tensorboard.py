"""Starting TensorBoard on chosen runs, bound to the loopback address."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterable

from dltui.errors import UserError
from dltui.store.runs import RunInfo


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(preferred: int = 6006, host: str = "127.0.0.1") -> int:
    """`preferred` if nothing listens there, else a port the system picks."""
    if port_is_free(preferred, host):
        return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def logdir_spec(runs: Iterable[RunInfo]) -> str:
    """TensorBoard's `--logdir_spec`: `experiment/run-id:path,...` with names it can parse."""
    parts = []
    for info in runs:
        name = f"{info.experiment}/{info.run_id}".replace(",", "_").replace(":", "_")
        parts.append(f"{name}:{info.dir.tb_dir}")
    return ",".join(parts)


def tensorboard_argv(runs: list[RunInfo], *, port: int = 6006,
                     host: str = "127.0.0.1") -> list[str]:
    """The command serving `runs`; the event files of ended runs whose wrapper died before
    its last pass are first brought up to their metrics streams."""
    if not runs:
        raise UserError("no runs to show in TensorBoard", fix="run something first, or check "
                        "the selection with `dltui ps --all`")
    from dltui.tracking.follower import catch_up_ended

    for info in runs:
        if info.is_final:
            catch_up_ended(info.dir)
    return [sys.executable, "-m", "tensorboard.main", "--logdir_spec", logdir_spec(runs),
            "--host", host, "--port", str(port), "--reload_interval", "2"]
