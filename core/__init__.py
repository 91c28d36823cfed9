"""dltui: a terminal dashboard for deep-learning experiments on your own machine.

Training code reports through `run = dltui.init(); run.log({...}, step=...)`.
This package stays light: it never imports torch, textual, rich or typer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dltui.tracking.run import Run

__all__ = ["init"]
__version__ = "0.1.0"


def init(**options: Any) -> Run:
    """The run this process reports to (see `dltui.tracking.run.init`)."""
    from dltui.tracking.run import init as _init

    return _init(**options)
