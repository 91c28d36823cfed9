"""The folder whose `sitecustomize` turns the integrations on in a run's interpreter."""

from __future__ import annotations

import os
from pathlib import Path

BOOTSTRAP_DIR = Path(__file__).resolve().parent / "bootstrap"


def with_bootstrap(pythonpath: str | None) -> str:
    """`pythonpath` with the bootstrap folder first (once)."""
    parts = [p for p in (pythonpath or "").split(os.pathsep) if p and p != str(BOOTSTRAP_DIR)]
    return os.pathsep.join([str(BOOTSTRAP_DIR), *parts])
