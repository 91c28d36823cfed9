"""A run's output log, printed whole or followed as it grows."""

from __future__ import annotations

import time
from collections.abc import Iterator

from dltui.store.runs import RunInfo, load_run


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
