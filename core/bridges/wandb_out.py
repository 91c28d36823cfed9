"""Export to Weights & Biases in offline mode: `wandb sync` uploads the folders later.

Each run becomes one offline W&B run (project = experiment, name and id = the run
id): config from params, history step by step, summary, tags, the note as notes,
and the exit code from the state. W&B stamps history rows with the export's own
time; the original times travel as `dltui_time`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from dltui.bridges.exported import ExportedRun
from dltui.bridges.optional import require
from dltui.store import rundir as rd


def wandb_id(run_id: str) -> str:
    """A W&B run id from a dltui one (W&B allows letters, digits, `-` and `_`)."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", run_id)


def export_wandb(runs: list[ExportedRun], *, dest: str | None) -> list[str]:
    """Write each run as an offline W&B run under `dest` (default `.`); one line per run,
    then how to upload them."""
    wandb = require("wandb", "dltui export --to wandb")
    root = Path(dest or ".").resolve()
    root.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("WANDB_SILENT", "true")
    lines, folders = [], []
    for run in runs:
        info = run.info
        settings = wandb.Settings(mode="offline", console="off", save_code=False,
                                  disable_git=True, x_disable_stats=True, silent=True)
        wb = wandb.init(dir=str(root), project=info.experiment, name=run.name,
                        id=wandb_id(info.run_id), config=dict(run.params), tags=run.tags or None,
                        notes=run.note or None, settings=settings,
                        reinit="create_new")
        try:
            for step, when, values in run.steps():
                if step >= 0:  # W&B's steps start at 0 and only go forward
                    wb.log({**values, "_timestamp": when}, step=step)
            if run.summary:
                wb.summary.update(run.summary)
            wb.summary["dltui_state"] = info.state
            folder = Path(wb.dir).parent  # files/ sits in the run's own folder
        finally:
            wb.finish(exit_code=0 if info.state == rd.SUCCEEDED else 1)
        folders.append(folder)
        lines.append(f"{info.ref}: W&B offline run {folder}")
    if folders:
        lines.append("upload: wandb sync " + " ".join(str(f) for f in folders))
    return lines
