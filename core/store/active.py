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


# What each index entry says, per runs directory: an entry's text never changes (a run
# id belongs to one experiment), so a process that lists often reads each entry once.
_entries_read: dict[str, dict[str, str]] = {}


def active_paths(runs_dir: Path) -> list[Path]:
    """Run directories the index lists, oldest id first."""
    index = runs_dir / ACTIVE_DIR
    try:
        names = sorted(e.name for e in os.scandir(index) if not e.name.startswith("."))
    except FileNotFoundError:
        return []
    known = _entries_read.get(str(index), {})
    current: dict[str, str] = {}
    for name in names:
        relative = known.get(name) or _entry_target(runs_dir, name)
        if relative is not None:
            current[name] = relative
    _entries_read[str(index)] = current
    return [runs_dir / relative for relative in current.values()]


def _entry_target(runs_dir: Path, run_id: str) -> str | None:
    """`experiment/run-id` of an index entry; None when its run is gone. An entry that
    does not say so (damaged, edited by hand) is found again by its run id among the
    experiments: an entry never points outside its run's own folder."""
    try:
        relative = (runs_dir / ACTIVE_DIR / run_id).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):  # a folder, unreadable, binary bytes
        relative = ""
    experiment, _, named = relative.partition("/")
    if named == run_id and experiment and not experiment.startswith("."):
        return relative
    try:
        experiments = [e.name for e in os.scandir(runs_dir)
                       if e.is_dir() and not e.name.startswith(".")]
    except OSError:
        return None
    found = [name for name in experiments if os.path.isdir(runs_dir / name / run_id)]
    return f"{found[0]}/{run_id}" if len(found) == 1 else None
