"""Errors a user can act on: each names the problem and the fix.

The CLI turns a `UserError` into its message on stderr and exit code 2, with no
traceback. Anything else escaping is a bug in dltui.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input: a manifest, a run reference, a flag. `str()` is the whole message."""

    def __init__(self, problem: str, *, fix: str = "", where: str = "") -> None:
        self.problem = problem
        self.fix = fix
        self.where = where
        super().__init__(self.message)

    @property
    def message(self) -> str:
        head = f"{self.where}: {self.problem}" if self.where else self.problem
        return f"{head}\n  fix: {self.fix}" if self.fix else head


class ManifestError(UserError):
    """A problem in experiments.toml."""
