"""The content-addressed store of code snapshots under `runs/.snapshots/`.

A snapshot is copied into a hidden staging folder while each file is hashed; its id
is the hash of every (path, mode, content hash), and the folder is renamed to the
id unless that content is stored already (then the copy is dropped). So a sweep,
and any later launch of the same code, share one copy.
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
    staging = store / f".staging-{secrets.token_hex(6)}"
    try:
        store.mkdir(parents=True, exist_ok=True)
        staging.mkdir()
        entries = _copy_tree(tree, staging / FILES_DIR)
        digest = hashlib.sha256("".join(f"{name}\0{mode}\0{sha}\n" for name, mode, sha, _ in
                                        entries).encode("utf-8", "surrogateescape"))
        snapshot_id = digest.hexdigest()[:_ID_LENGTH]
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


def _copy_tree(tree: SourceTree, target: Path) -> list[tuple[str, str, str, int]]:
    """Copy every chosen file, hashing what was copied: (name, mode, sha256, size)."""
    entries = []
    for name in tree.files:
        source = tree.root / name
        dest = target / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        if os.path.islink(source):
            link = os.readlink(source)
            os.symlink(link, dest)
            entries.append((name, "link", hashlib.sha256(link.encode()).hexdigest(), 0))
            continue
        try:
            src = open(source, "rb")  # noqa: SIM115
        except OSError as err:
            raise UserError(f"cannot read {source} for the run's code snapshot: "
                            f"{err.strerror or err}",
                            fix="make it readable, ignore it in .gitignore, or set "
                            "snapshot = false for the experiment") from None
        sha = hashlib.sha256()
        size = 0
        with src, open(dest, "wb") as out:
            while chunk := src.read(1 << 20):
                sha.update(chunk)
                out.write(chunk)
                size += len(chunk)
            executable = os.fstat(src.fileno()).st_mode & stat.S_IXUSR
        os.chmod(dest, 0o755 if executable else 0o644)
        entries.append((name, "755" if executable else "644", sha.hexdigest(), size))
    return entries


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
