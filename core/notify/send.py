"""Delivery through apprise: one target at a time, each outcome one line in a log.

A message that cannot go out is a line in `RUNS_DIR/.notify.log`, never an error
of the run that sent it.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from urllib.parse import urlsplit

from dltui.notify.targets import INSTALL_FIX

LOG_NAME = ".notify.log"


def log_line(runs_dir: Path, text: str) -> None:
    """Append one line to the runs directory's notification log."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    line = " ".join(f"{stamp} {text}".split()) + "\n"
    try:
        with open(runs_dir / LOG_NAME, "a", encoding="utf-8") as out:
            out.write(line)
    except OSError:
        pass  # a read-only runs folder: nowhere to say it, and the run goes on


def shown_url(url: str) -> str:
    """The URL as logged: scheme and host, never a password or token."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return f"{parts.scheme}://{host}" if parts.scheme else "?"


def send(urls: list[str], *, title: str, body: str, failed: bool, runs_dir: Path,
         about: str) -> int:
    """Send one message to each URL; how many took it. `about` names it in the log."""
    if not urls:
        return 0
    try:
        import apprise
    except ImportError:
        log_line(runs_dir, f"not sent ({about}): apprise is not installed; {INSTALL_FIX}")
        return 0
    kind = apprise.NotifyType.FAILURE if failed else apprise.NotifyType.SUCCESS
    delivered = 0
    for url in urls:
        target = apprise.Apprise()
        if not target.add(url):
            log_line(runs_dir, f"failed {shown_url(url)} ({about}): not a URL apprise knows")
            continue
        with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as said:
            ok = target.notify(body=body, title=title, notify_type=kind)
        if ok:
            delivered += 1
            log_line(runs_dir, f"sent {shown_url(url)} ({about})")
        else:
            why = (said.getvalue().strip().splitlines() or ["no reason given"])[-1]
            log_line(runs_dir, f"failed {shown_url(url)} ({about}): {why}")
    return delivered
