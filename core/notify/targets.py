"""Where a run's messages go: `[settings] notify` of its manifest and `--notify` URLs.

The manifest is read when the message is due, so URLs added during a long sweep
count; `--notify` URLs are kept in the run's status (`notify`) at launch.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from dltui.errors import UserError
from dltui.store import rundir as rd
from dltui.store.status import RunStatus

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


def run_urls(spec: rd.RunSpec | None, status: RunStatus) -> list[str]:
    """Every URL a run's messages go to, each once, the manifest's first."""
    found = manifest_urls(spec.manifest if spec else None)
    return list(dict.fromkeys([*found, *status.notify]))


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
