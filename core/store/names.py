"""Names that become directories: experiment names and run ids."""

from __future__ import annotations

import re
import time

from dltui.errors import UserError

_EXPERIMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}$")


def check_experiment_name(name: str, *, where: str = "") -> str:
    """Return `name` if it is safe as one directory name, else raise a UserError.

    Names become `runs/<name>/`, so `/`, `..`, leading dots and control
    characters would escape the runs directory or hide it.
    """
    if not _EXPERIMENT_NAME.match(name) or ".." in name:
        shown = name.encode("unicode_escape").decode("ascii")
        raise UserError(
            f"experiment name {shown!r} cannot be a directory name",
            fix="use letters, digits and '_.+-' only, starting with a letter or digit, "
            "no '/', no '..', at most 100 characters",
            where=where,
        )
    return name


_last_id = ""


def new_run_id(now: float | None = None) -> str:
    """An id that sorts in creation order: UTC time to the second, then the fraction of
    that second in 4 hex digits (15 µs steps). Ids made by one process only increase, so
    a sweep made within one second keeps its order and never repeats an id; two
    processes meeting on one tick are told apart when the run directory is made."""
    global _last_id
    while True:
        moment = time.time() if now is None else now
        whole = int(moment)
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(whole))
        made = f"{stamp}-{int((moment - whole) * 0x10000):04x}"
        if made <= _last_id and _last_id.startswith(stamp):
            step = int(_last_id[-4:], 16) + 1
            if step > 0xFFFF:  # 65,536 ids in one second: wait for the next
                now = None
                time.sleep(0.001)
                continue
            made = f"{stamp}-{step:04x}"
        _last_id = max(made, _last_id)
        return made
