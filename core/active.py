"""The index of unfinished runs: `runs/.active/<run-id>` holds `experiment/run-id`.

Listing live and queued runs then costs one small directory read, not a walk
over every run ever made. The run directories stay the truth: the index only
says where to look, and a stale entry is dropped by whoever finds its run final.
"""

from __future__ import annotations

import os
from pathlib import Path

ACTIVE_DIR = ".active"


def mark_active(runs_dir: Path, run_path: Path) -> None:
    index = runs_dir / ACTIVE_DIR
    index.mkdir(parents=True, exist_ok=True)
    relative = run_path.relative_to(runs_dir).as_posix()
    entry = index / run_path.name
    tmp = index / f".{run_path.name}.tmp"
    tmp.write_text(relative, encoding="utf-8")
    os.replace(tmp, entry)


def unmark_active(runs_dir: Path, run_id: str) -> None:
    (runs_dir / ACTIVE_DIR / run_id).unlink(missing_ok=True)


def active_paths(runs_dir: Path) -> list[Path]:
    """Run directories the index lists, oldest id first."""
    index = runs_dir / ACTIVE_DIR
    try:
        entries = [e for e in os.scandir(index) if not e.name.startswith(".")]
    except FileNotFoundError:
        return []
    paths = []
    for entry in sorted(entries, key=lambda e: e.name):
        try:
            relative = Path(entry.path).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            continue
        paths.append(runs_dir / relative)
    return paths
