"""Starting a run from its snapshot: which argv, environment and folder the child gets.

The working directory stays the project folder, so relative data paths (and outputs)
mean what they meant; the code comes from the copy: an argument naming a file of the
snapshot (the script, a config) is pointed at the copied file, and for `python -m`
or `-c` the copy's counterpart of the working directory is the first import path
(PYTHONSAFEPATH keeps the live folder off `sys.path`).
"""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dltui.snapshots.store import FILES_DIR, read_snapshot, snapshot_path

SNAPSHOT_DIR_ENV = "DLTUI_SNAPSHOT_DIR"  # the copied files, as the run sees them
PROJECT_DIR_ENV = "DLTUI_PROJECT_DIR"  # the folder that was copied


class SnapshotError(Exception):
    """The run cannot start from its snapshot (gone, or an interpreter that cannot be
    kept off the live tree); it must not start at all."""


def from_snapshot(*, snapshot_id: str, runs_dir: Path, cwd: str, argv: list[str],
                  env: dict[str, str], python: str | None = None
                  ) -> tuple[list[str], dict[str, str]]:
    """The argv and environment that run `argv` on the snapshot's copy of the code;
    `python` is the version of the command's interpreter where known ("3.11.7")."""
    meta = read_snapshot(runs_dir, snapshot_id)
    files = snapshot_path(runs_dir, snapshot_id) / FILES_DIR
    if meta is None or not files.is_dir():
        raise SnapshotError(f"the run's code snapshot {snapshot_id} is missing from "
                              f"{runs_dir}/.snapshots (removed by hand?); the run does not "
                              "start on the live tree")
    root = Path(meta["root"])
    work = Path(cwd)
    new_argv = [argv[0] if "/" not in argv[0] else _in_copy(argv[0], work, root, files)]
    for arg in argv[1:]:
        option, sep, value = arg.partition("=")
        if sep and option.startswith("-"):
            new_argv.append(f"{option}={_in_copy(value, work, root, files)}")
        else:
            new_argv.append(_in_copy(arg, work, root, files))
    env = dict(env)
    env[SNAPSHOT_DIR_ENV] = str(files)
    env[PROJECT_DIR_ENV] = str(root)
    if "-m" in argv or "-c" in argv:
        if python is not None and _version(python) < (3, 11):
            raise SnapshotError(
                f"Python {python} puts the live working directory first on sys.path for "
                "`-m` and `-c` (PYTHONSAFEPATH needs 3.11): the run does not start. Name "
                "the script (python train.py), use Python 3.11+, or set snapshot = false")
        counterpart = _counterpart(work, root, files)
        if counterpart is not None:
            env["PYTHONPATH"] = os.pathsep.join(
                [str(counterpart), *filter(None, [env.get("PYTHONPATH")])])
            env["PYTHONSAFEPATH"] = "1"
    return new_argv, env


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:2] if part.isdigit())


def _counterpart(path: Path, root: Path, files: Path) -> Path | None:
    try:
        return files / path.relative_to(root)
    except ValueError:
        return None


def _in_copy(arg: str, cwd: Path, root: Path, files: Path) -> str:
    """`arg` pointed at the copy when it names a file the snapshot holds."""
    if not arg or arg.startswith("-"):
        return arg
    given = arg if os.path.isabs(arg) else str(cwd / arg)
    # As written first; through symlinks second (the copied root is a resolved path).
    for path in dict.fromkeys((Path(os.path.normpath(given)), Path(os.path.realpath(given)))):
        copied = _counterpart(path, root, files)
        if copied is not None and copied != files and copied.is_file():
            return str(copied)
    return arg


@dataclass
class ChildStart:
    """What a run's child starts with, and what its environment record needs."""

    argv: list[str]
    env: dict[str, str]
    python: str | None  # the command's interpreter, when its first word is a Python
    described: dict[str, Any] | None = None  # that interpreter, when asked already


def plan_child(run_path: Path, *, snapshot_id: str | None, cwd: str, argv: list[str],
               env: dict[str, str]) -> ChildStart:
    """The argv and environment of a run's child, pointed at its snapshot when it has one.
    Raises SnapshotError. Asks another interpreter what it is only when the snapshot
    needs its version; this one's is known at once."""
    from dltui.snapshots.environment import interpreter_of

    start = ChildStart(argv, env, interpreter_of(argv, env))
    if snapshot_id:
        version = None
        if start.python is not None:
            if os.path.abspath(start.python) == os.path.abspath(sys.executable):
                version = platform.python_version()
            else:
                start.described = _described(start.python)
                version = start.described.get("python")
        start.argv, start.env = from_snapshot(snapshot_id=snapshot_id,
                                              runs_dir=run_path.parent.parent, cwd=cwd,
                                              argv=argv, env=env, python=version)
    return start


def record_child(run_path: Path, start: ChildStart, *, given: dict[str, str]) -> None:
    """Write the run's environment record for the child of `start` (the wrapper calls it
    once the child is started: the child need not wait for it)."""
    from dltui.snapshots.environment import record_environment

    python = start.described or _described(start.python)
    changed = sorted({*given, *(k for k, v in start.env.items() if os.environ.get(k) != v)})
    record_environment(run_path, env=start.env, given=changed, python=python)


def _described(python: str | None) -> dict[str, Any]:
    from dltui.snapshots.environment import describe_interpreter

    try:
        return describe_interpreter(python)
    except Exception as err:  # noqa: BLE001 - a record must never stop the run
        return {"error": f"{type(err).__name__}: {err}"}
