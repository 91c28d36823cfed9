"""`dltui export` and `dltui import`: thin commands over `dltui.bridges`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the `export` and `import` commands to the CLI's Typer app."""
