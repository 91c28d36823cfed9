"""Which files a snapshot holds: a git work tree's tracked and unignored files, else the
command's script folder; files over the per-file limit are left out and recorded."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from dltui.errors import UserError

MB = 1024 * 1024
# Folders never copied from a folder without git: caches, environments, tool state.
_SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "wandb", "mlruns",
                           "lightning_logs"})


@dataclass(frozen=True)
class Limits:
    """A file over `max_file_bytes` is left out (and recorded); a tree whose kept files
    are over `max_total_bytes` or `max_files` is refused."""

    max_file_bytes: int = 1 * MB
    max_total_bytes: int = 50 * MB
    max_files: int = 5000


@dataclass
class SourceTree:
    root: Path
    kind: str  # "git" or "folder"
    files: list[str] = field(default_factory=list)  # relative to root, posix
    left_out: list[dict[str, object]] = field(default_factory=list)
    total_bytes: int = 0


def git_root(folder: Path) -> Path | None:
    """The top of the git work tree holding `folder`, None outside git."""
    try:
        done = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=folder,
                              capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    top = done.stdout.strip()
    return Path(top).resolve() if done.returncode == 0 and top else None


def script_of(argv: list[str], cwd: Path) -> Path | None:
    """The script a command runs: its first argument naming an existing file, or the
    command itself when it is a file of the project folder (`./train.sh`); None for
    `python -m module` and `python -c code`."""
    if argv and "/" in argv[0]:
        command = (cwd / argv[0]).resolve()
        if command.is_file() and command.is_relative_to(cwd.resolve()):
            return command
    for arg in argv[1:]:
        if arg in ("-m", "-c"):
            return None  # Python runs a module or a string: later files are its arguments
        if arg.startswith("-"):
            continue
        path = Path(arg) if os.path.isabs(arg) else cwd / arg
        if path.is_file():
            return path.resolve()
    return None


def source_root(argv: list[str], cwd: Path,
                git_roots: dict[Path, Path | None] | None = None) -> tuple[str, Path] | None:
    """Which tree a command's code lives in: the git work tree holding its script (or,
    without a script, the working directory), else the script's folder, else the working
    directory for `python -m`/`-c`; None for a command with nothing of the project's (a
    binary, a shell line). `git_roots` caches git's answer per folder."""
    script = script_of(argv, cwd)
    base = script.parent if script is not None else cwd
    if git_roots is None:
        top = git_root(base)
    elif base in git_roots:
        top = git_roots[base]
    else:
        top = git_roots[base] = git_root(base)
    if top is not None:
        return "git", top
    if script is not None:
        return "folder", script.parent
    if "-m" in argv or "-c" in argv:
        return "folder", cwd
    return None


def choose_files(*, cwd: Path, argv: list[str], runs_dir: Path,
                 limits: Limits) -> SourceTree | None:
    """The files to copy for a command run from `cwd` (see `source_root`); None when
    there is nothing to copy. Refuses a script the copy would leave out."""
    found = source_root(argv, cwd)
    if found is None:
        return None
    kind, root = found
    tree = SourceTree(root, kind)
    names = _git_files(root) if kind == "git" else _folder_files(root, runs_dir, limits)
    skip = _inside(runs_dir, tree.root)
    for name in names:
        if skip is not None and (name == skip or name.startswith(skip + "/")):
            continue
        path = tree.root / name
        try:
            stat = os.lstat(path)
        except FileNotFoundError:
            continue  # deleted in the work tree but still in the index
        except OSError as err:
            raise _unreadable(path, err) from None
        if not (os.path.isfile(path) or os.path.islink(path)):
            continue  # a submodule or a socket: not code to copy
        if stat.st_size > limits.max_file_bytes:
            tree.left_out.append({"path": name, "size": stat.st_size, "why": "over the file limit"})
            continue
        tree.files.append(name)
        tree.total_bytes += stat.st_size
    if tree.total_bytes > limits.max_total_bytes or len(tree.files) > limits.max_files:
        raise _too_big(tree, limits)
    tree.files.sort()
    script = script_of(argv, cwd)
    relative = _inside(script, tree.root) if script is not None else None
    if relative is not None and relative not in tree.files:
        why = ("ignored by git" if kind == "git" and not any(
            entry["path"] == relative for entry in tree.left_out) else "over the file limit")
        raise UserError(f"the command's script {script} would not be in the run's code "
                        f"snapshot ({why}), so the run would execute the live file",
                        fix="track it (or stop ignoring it), raise [settings] "
                        "snapshot_file_limit_mb, or set snapshot = false for the experiment")
    return tree


def _git_files(top: Path) -> list[str]:
    try:
        done = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                               "--exclude-standard"], cwd=top, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as err:
        raise UserError(f"cannot list the files of the git work tree {top}: {err}",
                        fix="check that git works there, or set snapshot = false") from None
    if done.returncode != 0:
        raise UserError(f"git ls-files failed in {top}: {done.stderr.decode(errors='replace')}",
                        fix="check the repository, or set snapshot = false for the experiment")
    return sorted({n for n in done.stdout.decode("utf-8", "surrogateescape").split("\0") if n})


def _folder_files(folder: Path, runs_dir: Path, limits: Limits) -> list[str]:
    names: list[str] = []
    for base, dirs, files in os.walk(folder):
        here = Path(base)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIPPED_DIRS
                         and here / d != runs_dir and not (here / d / "pyvenv.cfg").exists())
        relative = here.relative_to(folder).as_posix()
        prefix = "" if relative == "." else relative + "/"
        names.extend(prefix + f for f in files if not f.endswith((".pyc", ".pyo")))
        if len(names) > limits.max_files * 4:
            break  # clearly over: refused below without walking a whole home folder
    return names


def _inside(path: Path, root: Path) -> str | None:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return None


def _unreadable(path: Path, err: OSError) -> UserError:
    return UserError(f"cannot read {path} for the run's code snapshot: {err.strerror or err}",
                     fix="make it readable, ignore it in .gitignore, or set snapshot = false "
                     "for the experiment")


def _too_big(tree: SourceTree, limits: Limits) -> UserError:
    sizes: dict[str, int] = {}
    for name in tree.files:
        top = name.split("/", 1)[0]
        sizes[top] = sizes.get(top, 0) + os.lstat(tree.root / name).st_size
    biggest = ", ".join(f"{name} {size / MB:.1f} MB" for name, size in
                        sorted(sizes.items(), key=lambda item: -item[1])[:3])
    return UserError(
        f"the code snapshot of {tree.root} would hold {len(tree.files)} files, "
        f"{tree.total_bytes / MB:.1f} MB, over the limit of {limits.max_files} files, "
        f"{limits.max_total_bytes / MB:.0f} MB (largest: {biggest})",
        fix="ignore data and outputs in .gitignore, raise [settings] snapshot_limit_mb, "
        "or set snapshot = false for the experiment")
