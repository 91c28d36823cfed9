"""The content-addressed store of code snapshots under `runs/.snapshots/`.

A snapshot's id is the hash of every (path, mode, content hash). The files are hashed
first: when that content is stored already (a study's next trial, a launch of code
that has not changed), nothing is copied. Otherwise they are copied into a hidden
staging folder, hashed again as they are copied (a file edited in between gives the
copy its own id), and the folder is renamed to the id. So a sweep, and any later
launch of the same code, share one copy.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dltui.errors import UserError
from dltui.snapshots.tree import Limits, SourceTree, choose_files
from dltui.store.rundir import read_json, write_json_atomic

SNAPSHOTS_DIR = ".snapshots"
FILES_DIR = "files"
MANIFEST_FILE = "snapshot.json"
_ID_LENGTH = 20


@dataclass(frozen=True)
class Snapshot:
    id: str
    path: Path  # runs/.snapshots/<id>
    root: Path  # the folder that was copied
    kind: str
    file_count: int
    total_bytes: int
    left_out: list[dict[str, Any]]

    @property
    def files_dir(self) -> Path:
        return self.path / FILES_DIR


def snapshots_root(runs_dir: Path) -> Path:
    return runs_dir / SNAPSHOTS_DIR


def snapshot_path(runs_dir: Path, snapshot_id: str) -> Path:
    return snapshots_root(runs_dir) / snapshot_id


def take_snapshot(*, cwd: Path, argv: list[str], runs_dir: Path,
                  limits: Limits | None = None) -> Snapshot | None:
    """Copy the code a command run from `cwd` executes into the store; None when the
    command names nothing to copy. Raises UserError when the tree is over the limits,
    a file cannot be read, or the copy cannot be written (a full disk)."""
    tree = choose_files(cwd=cwd, argv=argv, runs_dir=runs_dir, limits=limits or Limits())
    if tree is None:
        return None
    store = snapshots_root(runs_dir)
    entries = _hash_tree(tree)
    snapshot_id = _content_id(entries)
    stored = store / snapshot_id
    if (stored / MANIFEST_FILE).is_file():
        try:
            os.utime(stored)  # in use again: a fresh mtime keeps it from `dltui gc`'s grace
        except OSError:
            pass  # a read-only store: the snapshot is there all the same
        return Snapshot(snapshot_id, stored, tree.root, tree.kind, len(entries),
                        tree.total_bytes, tree.left_out)
    staging = store / f".staging-{secrets.token_hex(6)}"
    try:
        store.mkdir(parents=True, exist_ok=True)
        staging.mkdir()
        entries = _copy_tree(tree, staging / FILES_DIR)
        snapshot_id = _content_id(entries)
        write_json_atomic(staging / MANIFEST_FILE, {
            "id": snapshot_id, "root": str(tree.root), "kind": tree.kind,
            "created": time.time(), "total_bytes": tree.total_bytes,
            "files": {name: {"mode": mode, "sha256": sha, "size": size}
                      for name, mode, sha, size in entries},
            "left_out": tree.left_out,
            "limits": {"max_file_bytes": (limits or Limits()).max_file_bytes,
                       "max_total_bytes": (limits or Limits()).max_total_bytes}})
        final = store / snapshot_id
        try:
            os.rename(staging, final)
        except OSError:
            if not final.is_dir():
                raise
            os.utime(final)  # in use again: a fresh mtime keeps it from `dltui gc`'s grace
    except UserError:
        raise
    except OSError as err:
        raise UserError(f"cannot write the code snapshot under {store}: "
                        f"{err.strerror or err}",
                        fix="free disk space or fix the runs folder's permissions; or set "
                        "snapshot = false for the experiment") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Snapshot(snapshot_id, final, tree.root, tree.kind, len(entries), tree.total_bytes,
                    tree.left_out)


Entry = tuple[str, str, str, int]  # (name, mode, sha256, size)


def _content_id(entries: list[Entry]) -> str:
    digest = hashlib.sha256("".join(f"{name}\0{mode}\0{sha}\n" for name, mode, sha, _ in
                                    entries).encode("utf-8", "surrogateescape"))
    return digest.hexdigest()[:_ID_LENGTH]


def _hash_tree(tree: SourceTree) -> list[Entry]:
    """Hash every chosen file as it is now, copying nothing."""
    return [_hash_file(tree.root / name, name) for name in tree.files]


def _copy_tree(tree: SourceTree, target: Path) -> list[Entry]:
    """Copy every chosen file, hashing what was copied."""
    entries = []
    for name in tree.files:
        dest = target / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        entries.append(_hash_file(tree.root / name, name, copy_to=dest))
    return entries


def _hash_file(source: Path, name: str, copy_to: Path | None = None) -> Entry:
    """Hash `source`, copying it to `copy_to` on the way where one is given."""
    dest = copy_to
    if os.path.islink(source):
        link = os.readlink(source)
        if dest is not None:
            os.symlink(link, dest)
        return name, "link", hashlib.sha256(link.encode()).hexdigest(), 0
    try:
        src = open(source, "rb")  # noqa: SIM115
    except OSError as err:
        raise UserError(f"cannot read {source} for the run's code snapshot: "
                        f"{err.strerror or err}",
                        fix="make it readable, ignore it in .gitignore, or set "
                        "snapshot = false for the experiment") from None
    sha = hashlib.sha256()
    size = 0
    with src:
        executable = os.fstat(src.fileno()).st_mode & stat.S_IXUSR
        out = open(dest, "wb") if dest is not None else None  # noqa: SIM115
        try:
            while chunk := src.read(1 << 20):
                sha.update(chunk)
                if out is not None:
                    out.write(chunk)
                size += len(chunk)
        finally:
            if out is not None:
                out.close()
    if dest is not None:
        os.chmod(dest, 0o755 if executable else 0o644)
    return name, "755" if executable else "644", sha.hexdigest(), size


def read_snapshot(runs_dir: Path, snapshot_id: str) -> dict[str, Any] | None:
    """The snapshot.json of a stored snapshot, None when it is gone."""
    data = read_json(snapshot_path(runs_dir, snapshot_id) / MANIFEST_FILE)
    return data if isinstance(data, dict) else None


def stored_snapshots(runs_dir: Path) -> list[Path]:
    try:
        return sorted(p for p in snapshots_root(runs_dir).iterdir()
                      if p.is_dir() and not p.name.startswith("."))
    except FileNotFoundError:
        return []
