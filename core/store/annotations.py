"""A run's tags and note: `annotations.json` in its directory, the one run file a user
changes after the run is made (run.json, written once, keeps the experiment's tags)."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from dltui.errors import UserError
from dltui.store.rundir import read_json, write_json_atomic
from dltui.store.runs import RunInfo, RunStore

ANNOTATIONS_FILE = "annotations.json"
_LOCK_FILE = ".annotations.lock"


@dataclass
class Annotations:
    tags: list[str] = field(default_factory=list)
    note: str = ""


def has_annotations(info: RunInfo) -> bool:
    """Whether the run's tags or note were ever changed (one stat)."""
    return os.path.exists(f"{info.dir.text}/{ANNOTATIONS_FILE}")


def read_annotations(info: RunInfo) -> Annotations:
    """The run's tags (the experiment's, as changed since) and note."""
    path = f"{info.dir.text}/{ANNOTATIONS_FILE}"
    if not os.access(path, os.F_OK):  # most runs have none: one call, no exception raised
        return Annotations(list(info.spec.tags), "")
    data = read_json(Path(path), {})
    if not isinstance(data, dict):
        data = {}
    tags = data.get("tags")
    return Annotations(list(tags) if isinstance(tags, list) else list(info.spec.tags),
                       str(data.get("note") or ""))


@contextmanager
def _locked(run_path: Path) -> Iterator[None]:
    fd = os.open(run_path / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def check_tag(tag: str) -> str:
    tag = tag.strip()
    if not tag or any(c.isspace() or c == "," for c in tag):
        raise UserError(f"{tag!r} is not a tag", fix="a tag is one word without commas, as in "
                        "+baseline or -smoke")
    return tag


def change_tags(info: RunInfo, *, add: Iterable[str] = (),
                remove: Iterable[str] = ()) -> list[str]:
    """Add and remove tags of a run; returns its tags after the change."""
    adding = [check_tag(t) for t in add]
    removing = {check_tag(t) for t in remove}
    with _locked(info.dir.path):
        current = read_annotations(info)
        tags = [t for t in current.tags if t not in removing]
        tags += [t for t in dict.fromkeys(adding) if t not in tags]
        _write(info, tags, current.note)
    return tags


def set_note(info: RunInfo, text: str) -> None:
    """Replace the run's note (an empty text removes it)."""
    with _locked(info.dir.path):
        _write(info, read_annotations(info).tags, text.strip())


def _write(info: RunInfo, tags: list[str], note: str) -> None:
    try:
        write_json_atomic(info.dir.path / ANNOTATIONS_FILE,
                          {"tags": tags, "note": note, "updated": time.time()})
        # A changed experiment folder is what tells a dashboard to look at its runs again.
        os.utime(info.dir.path.parent)
    except OSError as err:
        raise UserError(f"cannot write the tags and note of {info.ref}: {err.strerror or err}",
                        fix="check the runs folder's permissions and free space") from None


def matches(info: RunInfo, *, tag: str | None = None, note: str | None = None) -> bool:
    """Whether the run has `tag` and a note containing `note` (case-insensitive)."""
    found = read_annotations(info)
    if tag is not None and tag not in found.tags:
        return False
    return note is None or note.lower() in found.note.lower()


def annotations_label(info: RunInfo) -> str:
    """`#tag #tag note` of a run, for its row in a listing."""
    found = read_annotations(info)
    return " ".join([*(f"#{t}" for t in found.tags), *([found.note] if found.note else [])])


def runs_tagged(store: RunStore, tag: str) -> list[RunInfo]:
    """Every run whose own tags (the experiment's, as changed by `dltui tag`) hold `tag`."""
    return [info for info in store.runs() if tag in read_annotations(info).tags]
