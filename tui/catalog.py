"""Every run under a runs directory, kept current cheaply for the dashboard.

A finished run never changes, so it is read once. The `.active` index says
which runs may still change: those are re-read on every poll (a few files),
and the whole directory is listed only now and then to find runs made
elsewhere. Plain Python: one worker thread owns a catalog; the screens get
frozen snapshots of it.
"""

from __future__ import annotations

import json
import time
from bisect import insort
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from dltui import rundir as rd
from dltui.manifest import Experiment, Manifest
from dltui.metrics import MetricHistory, downsample, guess_mode, is_finite, is_number
from dltui.store import RunInfo, RunStore, load_run
from dltui.tui.text import duration, number, params_label, state_label
from dltui.tui.views import (
    CURVE_POINTS,
    CatalogSnapshot,
    ExperimentEntry,
    MetricDigest,
    RunDigest,
    RunRecord,
)

RUN_COLUMNS = (("run", "Run"), ("experiment", "Experiment"), ("state", "State"),
               ("params", "Params"), ("metric", "Metric"), ("best", "Best"), ("last", "Last"),
               ("duration", "Duration"))


def params_key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str)


def digest_history(history: MetricHistory, info: RunInfo, *,
                   now: float | None = None) -> RunDigest:
    """Last, best and a downsampled curve of every metric, with progress and ETA."""
    modes = {info.spec.metric: info.spec.mode} if info.spec.metric else {}
    metrics = {}
    for name, series in history.series.items():
        mode = modes.get(name) or guess_mode(name)
        metrics[name] = MetricDigest(name, series.last, series.best(mode), mode,
                                     len(series.values),
                                     tuple(downsample(series.values, CURVE_POINTS)))
    total = history.total
    if total is None and is_number(info.spec.params.get("epochs")):
        total = info.spec.params["epochs"]
    step = history.last_step
    eta = None
    started = info.started
    if (not info.is_final and started and is_number(step) and is_number(total)
            and 0 < step < total and history.last_time):
        per_step = (history.last_time - started) / step
        eta = max(0.0, per_step * (total - step) - ((now or time.time()) - history.last_time))
    return RunDigest(metrics, step, total, eta)


def stored_digest(info: RunInfo) -> RunDigest:
    """A finished run's numbers from its final status, without reading its metrics."""
    stored = info.status.get("metrics")
    metrics = {}
    if isinstance(stored, dict):
        for name, found in stored.items():
            if isinstance(found, dict):
                mode = info.spec.mode if name == info.spec.metric else guess_mode(name)
                metrics[name] = MetricDigest(name, _finite(found.get("last")),
                                             _finite(found.get("best")), mode,
                                             int(found.get("count") or 0))
    return RunDigest(metrics, info.status.get("last_step"), info.status.get("total"))


def _finite(value: Any) -> float | None:
    return float(value) if is_finite(value) else None


def main_metric(info: RunInfo, digest: RunDigest) -> str:
    """The run's declared metric, else the first it logged."""
    if info.spec.metric:
        return info.spec.metric
    return next(iter(digest.metrics), "")


def run_record(info: RunInfo, digest: RunDigest) -> RunRecord:
    metric = main_metric(info, digest)
    found = digest.metric(metric)
    best = found.best if found else None
    last = found.last if found else None
    params = params_label(info.spec.params)
    cells = (info.run_id, info.experiment, state_label(info.state), params, metric,
             number(best), number(last), duration(info.duration))
    missing = float("inf")
    sort_keys = (info.run_id, info.experiment, info.state, params, metric,
                 missing if best is None else (-best if found and found.mode == "max" else best),
                 missing if last is None else last,
                 missing if info.duration is None else info.duration)
    search = " ".join((info.experiment, info.run_id, info.state, params, metric)).lower()
    return RunRecord(info.ref, info, cells, sort_keys, search)


def _recency(info: RunInfo) -> tuple[float, str]:
    """Which run is the latest: the one started last (queued runs by when they were queued)."""
    status = info.status
    when = status.get("started_at") or status.get("queued_at") or info.spec.created
    return (float(when) if is_number(when) else 0.0, info.run_id)


def _stamp(info: RunInfo) -> tuple[Any, ...]:
    status = info.status
    return (status.get("state"), status.get("updated"), status.get("queue_order"))


class RunCatalog:
    """The runs of one runs directory; use it from one thread only."""

    def __init__(self, store: RunStore, manifest: Manifest | None = None, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.manifest = manifest
        self.clock = clock
        self.loaded = False
        self.version = 0
        self._infos: dict[str, RunInfo] = {}
        self._order: list[str] = []
        self._records: dict[str, RunRecord] = {}
        self._keys: dict[str, str] = {}
        self._active: set[str] = set()
        self._histories: dict[str, MetricHistory] = {}  # runs still being written
        self._live: dict[str, RunDigest] = {}  # their digests
        self._stored: dict[str, RunDigest] = {}  # finished runs' numbers from status.json
        self._read: dict[str, RunDigest] = {}  # finished runs' curves, read once when shown

    # -- reading ---------------------------------------------------------------------------
    def scan(self) -> bool:
        """List every run directory: read new runs and unfinished ones; True if any changed."""
        changed = not self.loaded
        seen = set()
        for path in self.store.run_paths():
            ref = f"{path.parent.name}/{path.name}"
            seen.add(ref)
            old = self._infos.get(ref)
            if old is not None and old.is_final:
                continue
            info = load_run(path)
            if info is not None and (old is None or _stamp(old) != _stamp(info)):
                self._put(info)
                changed = True
        for ref in [r for r in self._infos if r not in seen]:
            self._drop(ref)
            changed = True
        self.loaded = True
        return changed

    def poll(self) -> bool:
        """Re-read the runs the active index names, and the new metrics of running ones."""
        changed = False
        current = set()
        for info in self.store.active():
            current.add(info.ref)
            old = self._infos.get(info.ref)
            if old is None or _stamp(old) != _stamp(info):
                self._put(info)
                changed = True
        for ref in self._active - current:  # it left the index: it has ended
            old = self._infos.get(ref)
            fresh = load_run(old.dir.path) if old else None
            if fresh is None:
                self._drop(ref)
            else:
                self._put(fresh)
            changed = True
        self._active = current
        for ref in current:
            info = self._infos[ref]
            if info.state not in (rd.RUNNING, rd.STARTING):
                continue
            history = self._histories.get(ref)
            if history is None:
                history = self._histories[ref] = MetricHistory(info.dir.metrics_file)
            if history.update() or ref not in self._live:
                self._live[ref] = digest_history(history, info, now=self.clock())
                self._records[ref] = run_record(info, self._live[ref])
                changed = True
        return changed

    def _put(self, info: RunInfo) -> None:
        ref = info.ref
        if ref not in self._infos:
            insort(self._order, ref)
            self._keys[ref] = params_key(info.spec.params)
        self._infos[ref] = info
        if info.is_final:
            self._active.discard(ref)
            self._live.pop(ref, None)
            self._stored[ref] = stored_digest(info)
            history = self._histories.pop(ref, None)
            if history is not None:  # read what was written last, and keep it
                history.update()
                self._read[ref] = digest_history(history, info)
        elif info.state != rd.QUEUED:
            self._active.add(ref)
        self._records[ref] = run_record(info, self._numbers(ref))

    def _drop(self, ref: str) -> None:
        for table in (self._infos, self._records, self._keys, self._histories, self._live,
                      self._stored, self._read):
            table.pop(ref, None)
        self._active.discard(ref)
        if ref in self._order:
            self._order.remove(ref)

    def _numbers(self, ref: str) -> RunDigest:
        """Last and best values without reading metrics.jsonl where the status has them."""
        found = self._live.get(ref) or self._read.get(ref) or self._stored.get(ref)
        return found or RunDigest()

    def digest(self, info: RunInfo) -> RunDigest:
        """A run's digest with curves: live for running runs, read once for finished ones."""
        found = self._live.get(info.ref) or self._read.get(info.ref)
        if found is not None:
            return found
        if info.state == rd.QUEUED:
            return RunDigest()
        history = MetricHistory(info.dir.metrics_file)
        history.update()
        digest = digest_history(history, info)
        if info.is_final:
            self._read[info.ref] = digest
        return digest

    # -- building --------------------------------------------------------------------------
    def snapshot(self) -> CatalogSnapshot:
        self.version += 1
        records = tuple(self._records[ref] for ref in self._order)
        active = tuple(self._infos[ref] for ref in sorted(self._active))
        live = dict(self._live)
        entries = tuple(self._experiment_entries()) if self.manifest else ()
        return CatalogSnapshot(self.version, self.loaded, records, active, live, entries,
                               {r.ref: r for r in records})

    def _experiment_entries(self) -> Iterable[ExperimentEntry]:
        assert self.manifest is not None
        by_experiment: dict[str, list[RunInfo]] = {}
        for ref in self._order:
            info = self._infos[ref]
            by_experiment.setdefault(info.experiment, []).append(info)
        for exp in self.manifest.experiments.values():
            yield from self._entries_of(exp, by_experiment.get(exp.name, []))

    def _entries_of(self, exp: Experiment, runs: list[RunInfo]) -> Iterable[ExperimentEntry]:
        param_sets = exp.param_sets()
        swept = list(exp.sweep)
        by_key: dict[str, list[RunInfo]] = {}
        for info in runs:
            by_key.setdefault(self._keys.get(info.ref, ""), []).append(info)
        children = []
        if len(param_sets) > 1:
            for index, params in enumerate(param_sets):
                label = params_label(params, swept) or params_label(params)
                children.append(self._entry(exp, f"{exp.name}#{index}", label, 1,
                                            by_key.get(params_key(params), []),
                                            {k: params[k] for k in swept}))
        parent = self._entry(exp, exp.name, exp.name, 0, runs, {})
        if children:
            states: dict[str, int] = {}
            for child in children:
                if child.latest is not None:
                    states[child.latest.state] = states.get(child.latest.state, 0) + 1
            parent = replace(parent, states=states)
        yield parent
        yield from children

    def _entry(self, exp: Experiment, key: str, label: str, depth: int, runs: list[RunInfo],
               params: dict[str, Any]) -> ExperimentEntry:
        latest = max(runs, key=_recency) if runs else None
        metric = exp.metric or ""
        best = None
        if metric:
            for info in runs:
                found = self._numbers(info.ref).metric(metric)
                value = found.best if found else None
                if value is not None and (best is None or (value > best if exp.mode == "max"
                                                           else value < best)):
                    best = value
        curve: tuple[float, ...] = ()
        if latest is not None and latest.state != rd.QUEUED:
            digest = self.digest(latest)
            metric = metric or main_metric(latest, digest)
            found = digest.metric(metric)
            curve = found.points if found else ()
        search = " ".join((exp.name, label, exp.group or "", " ".join(exp.tags),
                           exp.description)).lower()
        return ExperimentEntry(key, exp.name, label, depth, exp.group or "", tuple(exp.tags),
                               params, len(runs), {latest.state: 1} if latest else {}, latest,
                               metric, exp.mode, best, curve, search)


def run_digest_at(path: Path) -> RunDigest:
    """A one-off digest of a run directory (for tests and one-shot views)."""
    info = load_run(path)
    if info is None:
        return RunDigest()
    history = MetricHistory(info.dir.metrics_file)
    history.update()
    return digest_history(history, info)
