"""What every screen needs to know: the manifest, the runs, and the few outside
effects a test replaces (the clock, the GPU query, how TensorBoard is started)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dltui.bridges.tensorboard import tensorboard_argv
from dltui.manifest import Manifest
from dltui.queue.gpus import Gpu, query_gpus
from dltui.store.runs import RunInfo, RunStore


@dataclass
class Dashboard:
    manifest: Manifest
    runs_dir: Path
    clock: Callable[[], float] = time.time
    query_gpus: Callable[[], list[Gpu]] = query_gpus
    tensorboard_argv: Callable[..., list[str]] = tensorboard_argv
    # Feeds poll; tests and the snapshot pictures switch them off to freeze the data.
    live: bool = True
    cursor_blink: bool = True
    store: RunStore = field(init=False)

    def __post_init__(self) -> None:
        self.runs_dir = Path(self.runs_dir)
        self.store = RunStore(self.runs_dir)

    @property
    def stop_grace(self) -> float:
        return float(self.manifest.settings.stop_grace)

    @property
    def export_dir(self) -> Path:
        """Where exports and reports land unless the user names a folder: under the runs
        directory (git-ignored with it), never the folder the dashboard was started in."""
        return self.runs_dir / "exports"

    def labels_for(self, runs: list[RunInfo]) -> dict[str, str]:
        from dltui.views.selection import labels_for

        return labels_for(self.manifest, runs)
