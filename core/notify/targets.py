"""Where a run's messages go: `[settings] notify` of its manifest and `--notify` URLs.

The manifest is read when the message is due, so URLs added during a long sweep
count; `--notify` URLs are kept in the run's status (`notify`) at launch.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from dltui.errors import UserError
from dltui.store import rundir as rd

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

INSTALL_FIX = "pip install apprise (or pip install 'dltui[notify]')"


def manifest_urls(manifest: str | Path | None) -> list[str]:
    """The `[settings] notify` URLs of a manifest file; none if it is gone or unreadable
    (the launch validated it; a message is not worth failing over)."""
    if not manifest:
        return []
    try:
        with open(manifest, "rb") as src:
            data = tomllib.load(src)
    except (OSError, tomllib.TOMLDecodeError):
        return []
    settings = data.get("settings")
    urls = settings.get("notify", []) if isinstance(settings, dict) else []
    return [u for u in urls if isinstance(u, str)] if isinstance(urls, list) else []


def run_urls(spec: rd.RunSpec | None, status: dict[str, Any]) -> list[str]:
    """Every URL a run's messages go to, each once, the manifest's first."""
    found = manifest_urls(spec.manifest if spec else None)
    given = status.get("notify")
    if isinstance(given, list):
        found += [u for u in given if isinstance(u, str)]
    return list(dict.fromkeys(found))


def check_urls(urls: Iterable[str]) -> list[str]:
    """The URLs, each one apprise understands; a UserError names the first it does not."""
    checked = list(urls)
    if not checked:
        return checked
    try:
        import apprise
    except ImportError:
        raise UserError("notifications need apprise, which is not installed",
                        fix=INSTALL_FIX) from None
    for url in checked:
        if apprise.Apprise.instantiate(url) is None:
            raise UserError(f"{url!r} is not a notification URL apprise knows",
                            fix="write it as apprise does, e.g. ntfy://TOPIC, "
                            "json://HOST:PORT/PATH or mailto://USER:PASSWORD@HOST") from None
    return checked


def attach_urls(runs: Iterable[rd.RunDir], urls: list[str]) -> None:
    """Keep `urls` in each run's status, for its wrapper to send to when it ends."""
    if not urls:
        return
    for run in runs:
        current = run.status().get("notify")
        known = current if isinstance(current, list) else []
        run.write_status(notify=list(dict.fromkeys([*known, *urls])))
