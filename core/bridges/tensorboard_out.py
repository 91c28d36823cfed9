"""Export to TensorBoard event files with TensorBoard's own writer.

Each run gets `DEST/EXPERIMENT/RUN_ID/`: every scalar at its step and wall time,
the params through the HParams plugin (with the run's final metrics), and the
params, summary, tags and note as text.
"""

from __future__ import annotations

import json
from pathlib import Path

from dltui.bridges.exported import ExportedRun
from dltui.tracking.stream import is_number


def export_tensorboard(runs: list[ExportedRun], *, dest: str | None) -> list[str]:
    """Write each run's event files under `dest` (default `./tensorboard`)."""
    from tensorboard.compat.proto import event_pb2
    from tensorboard.plugins.hparams import summary_v2 as hparams
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    from dltui.tracking.tbwriter import EventWriter

    root = Path(dest or "tensorboard").resolve()
    lines = []
    for run in runs:
        info = run.info
        folder = root / info.experiment / info.run_id
        writer = EventWriter(folder)
        for step, when, values in run.steps():
            writer.scalars(values, step, when)
        if run.params:
            simple = {k: v for k, v in run.params.items()
                      if isinstance(v, (bool, int, float, str))}
            summary = hparams.hparams_pb(simple, trial_id=f"{info.experiment}/{info.run_id}")
            session = EventFileWriter(str(folder), filename_suffix=".hparams")
            session.add_event(event_pb2.Event(wall_time=run.started, summary=summary))
            session.close()
        card = {"params": run.params, "summary": run.summary, "tags": run.tags,
                "note": run.note, "state": info.state}
        writer.text("dltui/run", "```\n" + json.dumps(card, indent=1, default=str) + "\n```", 0)
        numbers = {k: v for k, v in run.summary.items() if is_number(v) and k not in run.metrics}
        if numbers:
            last = max((p.step for points in run.metrics.values() for p in points), default=0)
            writer.scalars({f"summary/{k}": float(v) for k, v in numbers.items()}, last,
                           run.ended or run.started)
        writer.close()
        lines.append(f"{info.ref}: TensorBoard events in {folder}")
    lines.append(f"look: tensorboard --logdir {root}")
    return lines
