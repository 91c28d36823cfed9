"""Lightning CSVLogger folders: `metrics.csv` (a row per logging call, a column per
metric, blanks where a metric was not logged) and `hparams.yaml` beside it."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from dltui.bridges.imported import Scalar, SourceRun

METRICS_CSV = "metrics.csv"
HPARAMS_FILE = "hparams.yaml"


def read_metrics_csv(path: Path) -> list[Scalar]:
    """Every value of the file, at its row's `step` (its row number where there is none)."""
    scalars = []
    with open(path, newline="", encoding="utf-8") as src:
        for number, row in enumerate(csv.DictReader(src)):
            step_text = row.get("step") or ""
            step = int(float(step_text)) if step_text.strip() else number
            for column, cell in row.items():
                if column is None or column == "step" or cell is None or not cell.strip():
                    continue
                try:
                    scalars.append(Scalar(column, step, float(cell)))
                except ValueError:
                    continue  # a text column is not a metric
    return scalars


def read_hparams(path: Path) -> dict[str, Any]:
    """hparams.yaml as plain values; empty when missing or not plain YAML."""
    if not path.exists():
        return {}
    try:
        import yaml
    except ImportError:
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        return {}  # objects Lightning pickled into tags: not params we can show
    if not isinstance(data, dict):
        return {}
    return {str(k): v for k, v in data.items()
            if isinstance(v, (str, int, float, bool)) or v is None}


def find_lightning_runs(path: Path) -> list[SourceRun]:
    """One SourceRun per metrics.csv under `path` (or `path` itself when it is one)."""
    files = [path] if path.is_file() and path.name == METRICS_CSV else sorted(
        path.rglob(METRICS_CSV)) if path.is_dir() else []
    return [SourceRun(f.parent, "lightning-csv", read_metrics_csv(f),
                      read_hparams(f.parent / HPARAMS_FILE)) for f in files]
