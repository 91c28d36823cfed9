"""A run's output log, printed whole or followed as it grows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from dltui.store import rundir as rd
from dltui.store.runs import RunInfo, load_run
from dltui.watch import FolderWatch


def waiting_note(info: RunInfo) -> str | None:
    """What a run that has logged nothing yet is waiting for, in words; None otherwise."""
    if info.state == rd.QUEUED:
        waits = info.status.waits_for
        return (f"{info.ref} is queued" + (f", waiting for {', '.join(waits)}" if waits
                                            else ", waiting for a free slot") +
                "; nothing is logged yet")
    if info.state == rd.STARTING:
        return f"{info.ref} is starting; nothing is logged yet"
    if info.state == rd.DAMAGED:
        return f"{info.ref} is damaged: {info.damage}"
    return None


def _read_from(path: Path, offset: int) -> bytes:
    try:
        with open(path, "rb") as src:
            src.seek(offset)
            return src.read()
    except (FileNotFoundError, NotADirectoryError):
        return b""


def stream_log(info: RunInfo, *, follow: bool = False, poll: float = 0.2,
               safety_look: float = 1.0) -> Iterator[str]:
    """Chunks of output.log; with `follow`, until the run has ended and all is read.

    Following waits on the run's folder (a line appended, the status replaced) and
    prints a line as it is written; where folders cannot be watched it polls."""
    offset = 0
    folders = FolderWatch() if follow else None
    try:
        if folders is not None:
            folders.watch([info.dir.path])
        while True:
            data = _read_from(info.dir.log_file, offset)
            if data:
                offset += len(data)
                yield data.decode("utf-8", "replace")
            if folders is None:
                return
            if not data:
                fresh = load_run(info.dir.path)
                if fresh is None or fresh.is_final or fresh.state == rd.DAMAGED:
                    # One more read: the last lines may land just before the final status.
                    rest = _read_from(info.dir.log_file, offset)
                    if rest:
                        yield rest.decode("utf-8", "replace")
                    return
                folders.wait(safety_look if folders.active else poll)
    finally:
        if folders is not None:
            folders.close()
