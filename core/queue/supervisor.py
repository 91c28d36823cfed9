"""`python -m dltui.queue.supervisor RUNS_DIR`: the detached process that runs the queue."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from dltui.queue.scheduler import supervise


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m dltui.queue.supervisor RUNS_DIR")
    # A closed terminal must not stop the queue.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    supervise(Path(sys.argv[1]).resolve())


if __name__ == "__main__":
    main()
