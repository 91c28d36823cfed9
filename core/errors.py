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


# What to do about the ways a file cannot be written, by errno name.
_DISK_FIXES = {
    "ENOSPC": "free space on that disk, or give --runs a folder on another one",
    "EDQUOT": "free space within your quota, or give --runs a folder on another disk",
    "EROFS": "the file system is read-only: give --runs a folder you can write",
    "EACCES": "you may not write there: give --runs a folder you own, or fix its permissions",
    "EPERM": "you may not write there: give --runs a folder you own, or fix its permissions",
    "ENOTDIR": "a file stands where a folder should be: move it, or give --runs another folder",
    "EISDIR": "a folder stands where a file should be: move it away",
}


def disk_error(err: OSError) -> UserError:
    """The UserError a failed write becomes: the path, the cause, and what to do."""
    import errno

    name = errno.errorcode.get(err.errno or 0, "")
    where = err.filename or "a file"
    cause = err.strerror or str(err)
    return UserError(f"cannot write {where}: {cause}",
                     fix=_DISK_FIXES.get(name, "check that path and the disk holding it"))
