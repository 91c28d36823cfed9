"""Names that become directories: experiment names and run ids."""

from __future__ import annotations

import re
import secrets
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


def new_run_id(now: float | None = None) -> str:
    """A sortable, unique id: UTC time to the second plus 4 random hex digits."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(time.time() if now is None else now))
    return f"{stamp}-{secrets.token_hex(2)}"
