"""Which runs the dashboard saw running have ended since the last catalog snapshot."""

from __future__ import annotations

from dataclasses import dataclass

from dltui.store import rundir as rd
from dltui.tui.views import CatalogSnapshot


@dataclass(frozen=True)
class RunEnded:
    ref: str
    state: str
    text: str

    @property
    def failed(self) -> bool:
        return self.state != rd.SUCCEEDED


class RunEndings:
    """Feed it every snapshot; it answers the runs that were running and are now final."""

    def __init__(self) -> None:
        self._watching: set[str] = set()

    def check(self, snapshot: CatalogSnapshot) -> list[RunEnded]:
        if not snapshot.loaded:
            return []
        ended = []
        for ref in sorted(self._watching):
            info = snapshot.info(ref)
            if info is None:
                self._watching.discard(ref)  # removed meanwhile
            elif info.is_final:
                self._watching.discard(ref)
                error = info.status.error
                ended.append(RunEnded(ref, info.state, f"{ref} {info.state}"
                                      + (f": {error}" if error else "")))
        self._watching |= {info.ref for info in snapshot.active if info.state == rd.RUNNING}
        return ended
