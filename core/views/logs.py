"""A run's output log, printed whole or followed as it grows."""

from __future__ import annotations

import time
from collections.abc import Iterator

from dltui.store import rundir as rd
from dltui.store.runs import RunInfo, load_run


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


def stream_log(info: RunInfo, *, follow: bool = False, poll: float = 0.2) -> Iterator[str]:
    """Chunks of output.log; with `follow`, until the run has ended and all is read."""
    offset = 0
    while True:
        try:
            with open(info.dir.log_file, "rb") as src:
                src.seek(offset)
                data = src.read()
        except (FileNotFoundError, NotADirectoryError):
            data = b""
        if data:
            offset += len(data)
            yield data.decode("utf-8", "replace")
        if not follow:
            return
        if not data:
            fresh = load_run(info.dir.path)
            if fresh is None or fresh.is_final or fresh.state == rd.DAMAGED:
                # One more read: the last lines may land just before the final status.
                try:
                    with open(info.dir.log_file, "rb") as src:
                        src.seek(offset)
                        rest = src.read()
                except (FileNotFoundError, NotADirectoryError):
                    rest = b""
                if rest:
                    yield rest.decode("utf-8", "replace")
                return
            time.sleep(poll)
