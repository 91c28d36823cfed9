"""Which runs a comparison shows: experiments, groups, tags or run references."""

from __future__ import annotations

import json
from collections.abc import Iterable

from dltui.manifest import Manifest
from dltui.store.runs import RunInfo, RunStore


def select_runs(store: RunStore, selection: Iterable[str], *, manifest: Manifest | None = None,
                all_runs: bool = False,
                left_out: list[RunInfo] | None = None) -> list[RunInfo]:
    """Runs named by experiments, groups (of the manifest), `tag:NAME`, or run references.

    For an experiment, group or tag, only the latest run of each distinct set of params
    is kept unless `all_runs`: a sweep run twice compares once. Damaged runs of an
    experiment are left out (added to `left_out`, when given, to be said)."""
    return select_counted(store, selection, manifest=manifest, all_runs=all_runs,
                          left_out=left_out)[0]


def dropped_note(shown: int, considered: int, show_all: str = "--all-runs") -> str:
    """`latest per param set: 4 of 7, --all-runs shows all` (`show_all`: what shows
    every run where the note is read), or "" when none was left out."""
    if considered <= shown:
        return ""
    return f"latest per param set: {shown} of {considered}, {show_all} shows all"


def select_counted(store: RunStore, selection: Iterable[str], *,
                   manifest: Manifest | None = None, all_runs: bool = False,
                   left_out: list[RunInfo] | None = None) -> tuple[list[RunInfo], int]:
    """`select_runs`, and how many runs it looked at before keeping the latest per
    param set (what `dropped_note` says)."""
    considered = 0
    tokens = list(selection)
    groups = manifest.groups if manifest else {}
    chosen: list[RunInfo] = []
    if not tokens:
        tokens = [p.name for p in sorted(store.root.iterdir())
                  if p.is_dir() and not p.name.startswith(".")] if store.root.is_dir() else []
    for token in tokens:
        experiments: list[str] | None = None
        if "/" in token:  # experiment/run-id: one run
            chosen.append(store.resolve(token))
            considered += 1
            continue
        if token.startswith("tag:") and manifest:
            experiments = [e.name for e in manifest.experiments.values() if token[4:] in e.tags]
        elif token in groups and not (store.root / token).is_dir():
            experiments = groups[token]
        elif (store.root / token).is_dir() or (manifest and token in manifest.experiments):
            experiments = [token]
        if experiments is None:
            chosen.append(store.resolve(token))
            considered += 1
            continue
        for name in experiments:
            runs = store.runs(name)
            damaged = [info for info in runs if info.damage]
            if damaged:
                runs = [info for info in runs if not info.damage]
                if left_out is not None:
                    left_out.extend(damaged)
            considered += len(runs)
            chosen.extend(runs if all_runs else _latest_per_params(runs))
    seen: set[str] = set()
    unique = []
    for info in chosen:
        if info.ref not in seen:
            seen.add(info.ref)
            unique.append(info)
    return unique, considered - (len(chosen) - len(unique))


def labels_for(manifest: Manifest | None, runs: Iterable[RunInfo]) -> dict[str, str]:
    """Column labels the manifest gives the runs' experiments (`labels = {lr = "..."}`)."""
    labels: dict[str, str] = {}
    if manifest is not None:
        for info in runs:
            exp = manifest.experiments.get(info.experiment)
            if exp:
                labels.update(exp.labels)
    return labels


def _latest_per_params(runs: list[RunInfo]) -> list[RunInfo]:
    latest: dict[str, RunInfo] = {}
    for info in runs:  # oldest first, so later ones win
        latest[json.dumps(info.spec.params, sort_keys=True, default=str)] = info
    return sorted(latest.values(), key=lambda i: i.run_id)
