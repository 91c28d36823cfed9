"""What a report is made of: each run as the report shows it (legend label, colour,
status line, metric history), the `Report` those runs make, and `md_text` for the
Markdown they go into."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from dltui.store import rundir as rd
from dltui.store.runs import RunInfo
from dltui.tracking.stream import MetricHistory
from dltui.views.listing import progress_of
from dltui.views.numbers import format_duration, format_value

LABEL_LIMIT = 48


@dataclass
class ReportRun:
    """One run as the report shows it: its legend label, colour and status line."""

    info: RunInfo
    label: str
    color: int
    history: MetricHistory
    status_text: str


@dataclass
class Report:
    title: str
    markdown: str
    files: dict[str, bytes] = field(default_factory=dict)  # relative path -> content
    figures: list[dict[str, Any]] = field(default_factory=list)
    runs: list[ReportRun] = field(default_factory=list)

    def sidecar(self, fmt: str, written: list[str]) -> dict[str, Any]:
        return {
            "title": self.title, "format": fmt,
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "runs": [{"ref": r.info.ref, "label": r.label, "state": r.info.state,
                      "status": r.status_text, "error": r.info.status.error,
                      "params": r.info.spec.params} for r in self.runs],
            "figures": self.figures, "files": written,
        }


def md_text(text: str) -> str:
    """`text` with Markdown's special characters escaped, to show as it is."""
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", text)


def legend_labels(runs: list[RunInfo]) -> list[str]:
    """A short unique name per run from the params that differ among its experiment's runs
    ("lr=0.01"), prefixed by the experiment when several are shown; the experiment name
    when nothing differs."""
    several = len({info.experiment for info in runs}) > 1
    labels = []
    for info in runs:
        peers = [i for i in runs if i.experiment == info.experiment]
        differing = [k for k in info.spec.params if len({
            json.dumps(i.spec.params.get(k), sort_keys=True, default=str) for i in peers}) > 1]
        text = ", ".join(f"{k}={format_value(info.spec.params[k], 'param')}" for k in differing)
        if several:
            text = f"{info.experiment}: {text}" if text else info.experiment
        text = text or info.experiment
        labels.append(text if len(text) <= LABEL_LIMIT else text[:LABEL_LIMIT - 1] + "…")
    counts = {label: labels.count(label) for label in labels}
    return [f"{label} #{info.run_id[-4:]}" if counts[label] > 1 else label
            for label, info in zip(labels, runs, strict=True)]


def status_line(info: RunInfo) -> str:
    """'succeeded in 1:02', 'running: step 3/15', 'failed: exited with code 1', 'queued'."""
    state = info.state
    if state in (rd.RUNNING, rd.STARTING):
        progress = progress_of(info)
        step, total = progress["step"], progress["total"]
        if step is None:
            return f"{state}: no step logged yet"
        done = f"step {format_value(step)}" + (f"/{format_value(total)}"
                                               if total is not None else "")
        return f"{state}: {done}"
    if state == rd.SUCCEEDED:
        took = info.duration
        return f"succeeded in {format_duration(took)}" if took is not None else state
    error = info.status.error
    return f"{state}: {error}" if error else state
