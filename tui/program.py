"""The `dltui` program: the command line, set up for one command and ended without the
interpreter's teardown.

Nothing here imports Typer before the collector is paused: start-up makes some
hundred thousand objects that live as long as the process, and young collections
walking them again and again cost milliseconds on every command.
"""

from __future__ import annotations

import os
import sys
from typing import Any

# Set by `main`: this process is the dltui program, which a command may end at once.
_running = False


def main() -> None:
    global _running
    from dltui.store.bulk import collector_paused

    _running = True

    with collector_paused():  # the modules' objects are promoted past young collections
        from dltui.tui import cli

        _keep_only_named_commands(cli, sys.argv[1:])
    try:
        cli.main()
        code: Any = 0
    except SystemExit as done:
        code = done.code
    _end(code)


def end_now() -> None:
    """End the dltui program here, exit code 0, for a command whose output is all written:
    returning would first free the thousands of records a listing made (25 ms after
    10,000 runs), only for the process to end. Elsewhere (Typer's test runner, a
    program that calls the CLI) it does nothing and the command returns."""
    if _running:
        _end(0)


def _keep_only_named_commands(cli: Any, args: list[str]) -> None:
    """Typer builds every command's parser on each start (10 ms for 20 commands); the
    commands are kept that `args` names, all of them where it names none, so that help,
    and the error for a misspelt command, still list every one."""
    named = set(args)
    chosen = [command for command in cli.app.registered_commands
              if (command.name or getattr(command.callback, "__name__", "").replace("_", "-"))
              in named]
    if chosen:
        cli.app.registered_commands = chosen


def _end(code: Any) -> None:
    """Exit without the interpreter's teardown where nothing is left to do: atexit hooks
    run and the output is flushed, but freeing every module and object (10-15 ms, more
    after a listing of thousands of runs) is left to the kernel. With other threads
    still running, or output that cannot be flushed, Python exits as usual."""
    import atexit
    import threading

    if threading.active_count() > 1:
        sys.exit(code)
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe: Python's own exit reports it
        sys.exit(code)
    if code is None:
        code = 0
    elif not isinstance(code, int):
        sys.stderr.write(f"{code}\n")  # what sys.exit("message") prints
        sys.stderr.flush()
        code = 1
    os._exit(code)


if __name__ == "__main__":
    main()
