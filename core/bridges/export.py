"""`dltui export RUN... --to mlflow|wandb|tensorboard`: runs replayed through each tool's
own client, so that what comes out is that tool's native format."""

from __future__ import annotations

from collections.abc import Callable

from dltui.bridges.exported import ExportedRun, read_exported
from dltui.errors import UserError
from dltui.store.runs import RunInfo

TARGETS = ("mlflow", "wandb", "tensorboard")


def export_runs(runs: list[RunInfo], *, to: str, dest: str | None) -> list[str]:
    """Export `runs` to the tracker `to` at `dest`; the lines to print."""
    if to not in TARGETS:
        raise UserError(f"cannot export to {to!r}", fix=f"use --to {', '.join(TARGETS)}")
    if not runs:
        raise UserError("no runs to export", fix="name runs or experiments; `dltui ps --all` "
                        "lists them")
    exporter: Callable[..., list[str]]
    if to == "mlflow":
        from dltui.bridges.mlflow_out import export_mlflow

        exporter = export_mlflow
    elif to == "wandb":
        from dltui.bridges.wandb_out import export_wandb

        exporter = export_wandb
    else:
        from dltui.bridges.tensorboard_out import export_tensorboard

        exporter = export_tensorboard
    exported: list[ExportedRun] = [read_exported(info) for info in runs]
    return exporter(exported, dest=dest)
