"""How much disk runs take: a finished run's size is measured once and kept in
`runs/<experiment>/.sizes.json` against its status file's mtime; a live run's is
measured when asked."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from dltui.store.rundir import STATUS_FILE, read_json, write_json_atomic
from dltui.store.runs import RunInfo

SIZES_FILE = ".sizes.json"


def tree_bytes(path: Path | str) -> int:
    """The bytes of every file under `path` (links not followed); 0 when it is gone."""
    total = 0
    stack = [str(path)]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    total += entry.stat(follow_symlinks=False).st_size
            except FileNotFoundError:
                continue
    return total


def run_sizes(infos: Iterable[RunInfo]) -> dict[str, int]:
    """The size of each run's directory by `experiment/run-id`."""
    by_folder: dict[str, list[RunInfo]] = {}
    for info in infos:  # (rpartition: os.path.dirname costs more than the rest of a run)
        by_folder.setdefault(info.dir.text.rpartition(os.sep)[0], []).append(info)
    sizes: dict[str, int] = {}
    for folder, runs in by_folder.items():
        cache_path = Path(folder) / SIZES_FILE
        cached = read_json(cache_path, {})
        if not isinstance(cached, dict):
            cached = {}
        changed = False
        for info in runs:
            path = info.dir.text
            run_id = info.spec.run_id
            stamp = info.status_mtime or _status_mtime(path)
            final = info.is_final
            entry = cached.get(run_id) if final else None
            # [stamp, size]; anything else (another version's, a damaged cache) is remeasured
            if type(entry) is list and len(entry) == 2 and entry[0] == stamp \
                    and type(entry[1]) is int:
                size: int = entry[1]
            else:
                size = tree_bytes(path)
                if final:
                    cached[run_id] = [stamp, size]
                    changed = True
            sizes[f"{info.spec.experiment}/{run_id}"] = size
        if changed:
            try:
                write_json_atomic(cache_path, cached, compact=True)
            except OSError:
                pass  # a read-only runs folder measures again next time
    return sizes


def _status_mtime(run_path: str) -> int:
    try:
        return os.stat(f"{run_path}/{STATUS_FILE}").st_mtime_ns
    except (FileNotFoundError, NotADirectoryError):
        return 0


def human_bytes(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"
