"""A per-experiment cache of finished runs: one file read instead of three per run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dltui.backends import get_backend
from dltui.errors import UserError
from dltui.store import rundir as rd
from dltui.store.runs import RunInfo, load_run
from dltui.store.spec import RunSpec
from dltui.store.status import RunStatus

INDEX_FILE = ".finished.json"
# The index's layout. Entries are trusted without a check of their types (at 10,000 runs
# a check costs 50 ms), so a dltui that changes what an entry holds takes the next
# number; an index of any other number, from an older or newer dltui sharing the runs
# folder, is rebuilt from the runs rather than read.
INDEX_FORMAT = 2


def _settled(info: RunInfo) -> bool:
    """Whether a final status can no longer change (a cluster job's waits for its verdict)."""
    try:
        return get_backend(info.spec.backend).settled(info.status)
    except UserError:
        return False


class FinishedIndex:
    """A finished run's files no longer change, so its spec, status and summary are
    kept in `runs/<experiment>/.finished.json`, each entry checked against the
    modification time of its status.json (one stat, much cheaper than a read).
    Any reader refreshes it with an atomic replace; losing a race costs a rebuild,
    and a runs directory that cannot be written costs only speed.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / INDEX_FILE

    def load(self, run_ids: list[str]) -> list[RunInfo]:
        """The runs of these ids (in this order), from the index where it is current."""
        stored = rd.read_json(self.path, {})
        cached = stored.get("runs") if isinstance(stored, dict) and \
            stored.get("format") == INDEX_FORMAT else None
        if not isinstance(cached, dict):
            cached = {}
        fresh: dict[str, Any] = {}
        found: list[RunInfo] = []
        changed = False
        folder = str(self.folder)
        for run_id in run_ids:
            # String paths: pathlib costs more than the stat itself at 10,000 runs.
            path = f"{folder}/{run_id}"
            try:
                mtime = os.stat(f"{path}/{rd.STATUS_FILE}").st_mtime_ns
            except (FileNotFoundError, NotADirectoryError):
                mtime = None
            entry = cached.get(run_id)
            if mtime is not None and isinstance(entry, dict) and entry.get("mtime") == mtime:
                try:
                    info = RunInfo(rd.RunDir(path),
                                   RunSpec.from_json(entry["spec"], check=False),
                                   RunStatus.from_json(entry["status"], check=False),
                                   entry["summary"], status_mtime=mtime)
                except (KeyError, TypeError, ValueError):
                    changed = True  # an entry of another version, or damaged: read the run
                else:
                    fresh[run_id] = entry
                    found.append(info)
                    continue
            loaded = load_run(path)
            if loaded is None:
                continue
            found.append(loaded)
            if loaded.is_final and mtime is not None and _settled(loaded):
                changed = True
                # The time taken before the read: a status replaced since is read again.
                fresh[run_id] = {"mtime": mtime,
                                 "spec": loaded.spec.to_compact_json(),
                                 "status": loaded.status.to_compact_json(),
                                 "summary": loaded.summary()}
        if changed or len(fresh) != len(cached):
            try:
                rd.write_json_atomic(self.path, {"format": INDEX_FORMAT, "runs": fresh},
                                     compact=True)
            except OSError:
                pass  # a read-only or full runs directory still lists, only slower
        return found
