"""Removing runs: `dltui rm` moves them to `runs/.trash/`, `dltui gc` deletes the trash
and the code snapshots no run names any more."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from dltui.errors import UserError
from dltui.store.disk import SIZES_FILE, tree_bytes
from dltui.store.rundir import read_json, write_json_atomic
from dltui.store.runs import RunInfo, RunStore

TRASH_DIR = ".trash"
SNAPSHOTS_DIR = ".snapshots"  # the store of dltui.snapshots
SNAPSHOT_GRACE_S = 15 * 60  # a snapshot this new may belong to a launch still queueing


@dataclass
class Removed:
    ref: str
    to: Path
    bytes: int


def needed_by(store: RunStore) -> dict[str, list[str]]:
    """For each run another run needs (its `needs` path, or one it waits for), those runs."""
    needs: dict[str, list[str]] = {}
    for info in store.runs():
        wanted = {str(Path(p).resolve()) for p in info.status.needs.values() if p}
        wanted |= {str((store.root / rel).resolve()) for rel in info.status.waits_for}
        for path in wanted:
            needs.setdefault(path, []).append(info.ref)
    return needs


def remove_runs(store: RunStore, infos: list[RunInfo]) -> list[Removed]:
    """Move runs to the trash. Refuses (UserError, nothing moved) an active run, or a
    run that a run outside `infos` needs."""
    chosen = {str(info.dir.path.resolve()): info for info in infos}
    for info in chosen.values():
        if info.damage:  # it may be live, and its files say nothing sure: left to a person
            raise UserError(f"{info.ref} is damaged ({info.damage}) and is not moved",
                            fix=info.damage_fix)
        if not info.is_final:
            raise UserError(f"{info.ref} is {info.state}: an active run is not removed",
                            fix=f"stop it first: dltui stop {info.run_id}")
    for path, users in needed_by(store).items():
        others = [u for u in users if str((store.root / u).resolve()) not in chosen]
        if path in chosen and others:
            raise UserError(f"{chosen[path].ref} is needed by {', '.join(others[:3])}",
                            fix="remove those runs too (in the same dltui rm), or keep it")
    trash = store.root / TRASH_DIR
    removed = []
    for info in chosen.values():
        target = trash / info.experiment / info.run_id
        if target.exists():
            target = target.with_name(f"{info.run_id}.{int(time.time())}")
        size = tree_bytes(info.dir.path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(info.dir.path, target)
        except OSError as err:
            raise UserError(f"cannot move {info.ref} to {trash}: {err.strerror or err}",
                            fix="check the runs folder's permissions") from None
        removed.append(Removed(info.ref, target, size))
    return removed


@dataclass
class Garbage:
    trash_runs: list[Path] = field(default_factory=list)
    trash_bytes: int = 0
    snapshots: list[Path] = field(default_factory=list)
    snapshot_bytes: int = 0
    kept_recent: int = 0  # unreferenced snapshots younger than the grace period
    # Runs whose run.json is damaged: which snapshot each names is unknown, so none is
    # deleted while they are there (repaired, a run still finds its code).
    damaged_specs: list[str] = field(default_factory=list)
    kept_unknown: int = 0  # unreferenced snapshots kept for them

    @property
    def total_bytes(self) -> int:
        return self.trash_bytes + self.snapshot_bytes


def find_garbage(store: RunStore, *, now: float | None = None) -> Garbage:
    """What `dltui gc` deletes: the trashed runs, the snapshots no run names, and the
    half-made copies of launches that died while copying."""
    found = Garbage()
    trash = store.root / TRASH_DIR
    for folder in sorted(trash.glob("*/*")) if trash.is_dir() else []:
        found.trash_runs.append(folder)
        found.trash_bytes += tree_bytes(folder)
    runs = store.runs()
    named = {info.spec.snapshot for info in runs if info.spec.snapshot}
    found.damaged_specs = [info.ref for info in runs if info.spec_damage]
    now = time.time() if now is None else now
    snapshots = store.root / SNAPSHOTS_DIR
    for folder in sorted(snapshots.iterdir()) if snapshots.is_dir() else []:
        if folder.name in named or (folder.name.startswith(".")
                                    and not folder.name.startswith(".staging-")):
            continue
        if now - folder.stat().st_mtime < SNAPSHOT_GRACE_S:
            found.kept_recent += not folder.name.startswith(".")
            continue  # a launch may be copying it, or about to name it in a run
        if found.damaged_specs and not folder.name.startswith("."):
            found.kept_unknown += 1
            continue
        found.snapshots.append(folder)
        found.snapshot_bytes += tree_bytes(folder)
    return found


def collect_garbage(store: RunStore, *, dry_run: bool = False) -> Garbage:
    """Delete what `find_garbage` finds (nothing with `dry_run`); returns it."""
    found = find_garbage(store)
    if not dry_run:
        for folder in [*found.trash_runs, *found.snapshots]:
            shutil.rmtree(folder, ignore_errors=True)
        for folder in (store.root / TRASH_DIR).glob("*"):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
    return found


def trash_bytes(store: RunStore) -> int:
    return tree_bytes(store.root / TRASH_DIR)


def snapshot_bytes(store: RunStore) -> int:
    """The bytes of the code snapshots. A stored snapshot never changes (its folder is
    named by the hash of its content), so each one's size is measured once and kept in
    `.snapshots/.sizes.json` by id; hundreds of snapshots of thousands of files cost
    one small read, not a walk of every file. A copy being made is measured each time."""
    folder = store.root / SNAPSHOTS_DIR
    try:
        names = sorted(entry.name for entry in os.scandir(folder)
                       if entry.is_dir(follow_symlinks=False))
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return 0
    cache_path = folder / SIZES_FILE
    cached = read_json(cache_path, {})
    if not isinstance(cached, dict):
        cached = {}
    sizes: dict[str, int] = {}
    total = 0
    for name in names:
        size = cached.get(name)
        if name.startswith("."):  # a staging copy, still being made
            total += tree_bytes(folder / name)
            continue
        if type(size) is not int:
            size = tree_bytes(folder / name)
        sizes[name] = size
        total += size
    if sizes != cached:
        try:
            write_json_atomic(cache_path, sizes, compact=True)
        except OSError:
            pass  # a read-only runs folder measures again next time
    return total

