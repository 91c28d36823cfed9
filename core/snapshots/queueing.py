"""Snapshots taken by a launch: one per code tree, all of them before any run is queued,
so that a tree over the limit or an unreadable file queues nothing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from dltui.manifest import Experiment, Manifest
from dltui.snapshots.store import take_snapshot
from dltui.snapshots.tree import MB, Limits, source_root


class LaunchSnapshots:
    """The snapshot ids of one launch's runs, copied once per tree."""

    def __init__(self, runs_dir: Path, manifest: Manifest) -> None:
        self.runs_dir = runs_dir
        self.cwd = manifest.path.parent
        settings = manifest.settings
        self.limits = Limits(max_file_bytes=settings.snapshot_file_limit_mb * MB,
                             max_total_bytes=settings.snapshot_limit_mb * MB)
        self._git_roots: dict[Path, Path | None] = {}
        self._by_tree: dict[tuple[str, str] | None, str | None] = {}

    def prepare(self, manifest: Manifest, requested: Iterable[str],
                overrides: Mapping[str, list[Any]] | None = None) -> None:
        """Take the snapshots of every run these experiments (and what they need) would
        queue; overrides apply to the requested ones only, as in a launch."""
        names = list(requested)
        for name in manifest.closure(names):
            exp = manifest.experiments[name]
            if exp.search is not None:  # its trials' params come later; the tree is the same
                self.id_for(exp, exp.argv({**exp.params, **dict.fromkeys(exp.search.space, 0)}))
                continue
            for params in exp.param_sets(overrides if name in names else None):
                self.id_for(exp, exp.argv(params))

    def id_for(self, exp: Experiment, argv: list[str]) -> str | None:
        """The snapshot a run of `exp` with this argv executes; None for a built-in task
        (its code is the installed dltui) or `snapshot = false`."""
        if exp.task or not exp.snapshot:
            return None
        key = self._tree_key(argv)
        if key not in self._by_tree:
            taken = take_snapshot(cwd=self.cwd, argv=argv, runs_dir=self.runs_dir,
                                  limits=self.limits)
            self._by_tree[key] = taken.id if taken is not None else None
        return self._by_tree[key]

    def _tree_key(self, argv: list[str]) -> tuple[str, str] | None:
        found = source_root(argv, self.cwd, self._git_roots)
        return None if found is None else (found[0], str(found[1]))
