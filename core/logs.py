"""A run's output log, printed whole or followed as it grows."""

from __future__ import annotations

import time
from collections.abc import Iterator

from dltui.store import RunInfo, load_run


def stream_log(info: RunInfo, *, follow: bool = False, poll: float = 0.2) -> Iterator[str]:
    """Chunks of output.log; with `follow`, until the run has ended and all is read."""
    offset = 0
    while True:
        try:
            with open(info.dir.log_file, "rb") as src:
                src.seek(offset)
                data = src.read()
        except FileNotFoundError:
            data = b""
        if data:
            offset += len(data)
            yield data.decode("utf-8", "replace")
        if not follow:
            return
        if not data:
            fresh = load_run(info.dir.path)
            if fresh is None or fresh.is_final:
                # One more read: the last lines may land just before the final status.
                with open(info.dir.log_file, "rb") as src:
                    src.seek(offset)
                    rest = src.read()
                if rest:
                    yield rest.decode("utf-8", "replace")
                return
            time.sleep(poll)


def tail_lines(info: RunInfo, count: int = 200, max_bytes: int = 256 * 1024) -> list[str]:
    """The last `count` lines of output, carriage-return redraws collapsed."""
    try:
        with open(info.dir.log_file, "rb") as src:
            src.seek(0, 2)
            size = src.tell()
            src.seek(max(0, size - max_bytes))
            data = src.read()
    except FileNotFoundError:
        return []
    text = data.decode("utf-8", "replace")
    lines = [line.rsplit("\r", 1)[-1] for line in text.split("\n")]
    if size > max_bytes and lines:
        lines = lines[1:]  # the first may be cut
    if lines and lines[-1] == "":
        lines.pop()
    return lines[-count:]
