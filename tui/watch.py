"""The dashboard's folder watcher: the engine's own (`dltui.watch`), shared with the queue."""

from __future__ import annotations

from dltui.watch import FolderWatch

__all__ = ["FolderWatch"]
