"""Every run under a runs directory, kept current cheaply for the dashboard.

A finished run never changes, so it is read once. The `.active` index says
which runs may still change: those are re-read on every poll (a few files),
and the whole directory is listed only now and then to find runs made
elsewhere. An experiment's rows are rebuilt only when one of its runs changed.
Plain Python: one worker thread owns a catalog; the screens get frozen
snapshots of it.
"""

from __future__ import annotations

import heapq
import os
import time
from bisect import insort
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from dltui.manifest import Experiment, Manifest
from dltui.store import rundir as rd
from dltui.store.annotations import annotations_label, has_annotations
from dltui.store.bulk import collector_paused
from dltui.store.runs import RunInfo, RunStore, load_run
from dltui.system.figures import first_training_metric
from dltui.tracking.progress import progress_of_history
from dltui.tracking.stream import MetricHistory, best_of, guess_mode, is_finite, is_number
from dltui.tui.curves import thin
from dltui.tui.text import duration, number, params_label, state_label
from dltui.tui.views import (
    CatalogSnapshot,
    ExperimentEntry,
    MetricDigest,
    RunDigest,
    RunRecord,
)

RUN_COLUMNS = (("run", "Run"), ("experiment", "Experiment"), ("state", "State"),
               ("params", "Params"), ("metric", "Metric"), ("best", "Best"), ("last", "Last"),
               ("duration", "Duration"), ("notes", "Tags / Note"))
MISSING = float("inf")  # the sort key of an empty cell
_LOOK_BACK = 5  # runs read, newest first, to find an experiment's latest curve
_MOST_CURVES = 8  # param sets an experiment without a sweep overlays on its chart


def sweep_label(params: dict[str, Any], keys: list[str]) -> str:
    """A sweep row's name: `lr=0.1` for one swept param, else the values alone,
    `greedy · 0.7 · a picture of` (the detail panel names them)."""
    if len(keys) == 1:
        return params_label(params, keys)
    return " · ".join(_shown(params.get(k)) for k in keys)


def _shown(value: Any) -> str:
    text = params_label({"v": value})[2:]
    return text if text else '""'


def params_key(params: dict[str, Any]) -> str:
    """One string per distinct param set (a sweep's runs group by it)."""
    return repr(sorted(params.items()))


def digest_history(history: MetricHistory, info: RunInfo, *, now: float | None = None,
                   previous: RunDigest | None = None, curves: bool = True) -> RunDigest:
    """Last, best and a downsampled curve of every metric, with progress and ETA.

    `previous` is a digest of the same history read before: a metric with no new point
    keeps its digest (the same object, so what was drawn from it is not drawn again),
    and its best is brought up to date from the new points alone. With `curves` False
    a metric in `previous` keeps its curve too: thinning a long curve is what a digest
    costs, and charts are drawn far less often than values change."""
    modes = {info.spec.metric: info.spec.mode} if info.spec.metric else {}
    metrics = {}
    origin = history.first_time or 0.0
    before = previous.metrics if previous is not None else {}
    for name, series in history.series.items():
        mode = modes.get(name) or guess_mode(name)
        kept = before.get(name)
        count = len(series.values)
        if kept is None or kept.mode != mode or kept.count > count:
            best = series.best(mode)
        elif kept.count == count and (kept.drawn is None or not curves):
            metrics[name] = kept
            continue
        else:
            best = best_of([*series.values[kept.count:],
                            *([] if kept.best is None else [kept.best])], mode)
            if not curves:
                drawn = kept.count if kept.drawn is None else kept.drawn
                metrics[name] = replace(kept, last=series.last, best=best, count=count,
                                        drawn=drawn)
                continue
        steps, values, times = thin(series)
        metrics[name] = MetricDigest(name, series.last, best, mode, count, values, steps,
                                     tuple(t - origin for t in times))
    progress = progress_of_history(history, params=info.spec.params, started=info.started,
                                   is_final=info.is_final, now=now)
    return RunDigest(metrics, progress.step, progress.total, progress.eta)


def stored_numbers(info: RunInfo) -> tuple[str, float | None, float | None, str]:
    """(metric, best, last, mode) of a finished run from its final status, no file read."""
    stored = info.status.metrics
    metric = info.spec.metric or (first_training_metric(stored) if stored else "")
    found = stored.get(metric) if isinstance(stored, dict) and metric else None
    mode = info.spec.mode if info.spec.metric else guess_mode(metric)
    if not isinstance(found, dict):
        return metric, None, None, mode
    return metric, _finite(found.get("best")), _finite(found.get("last")), mode


def digest_numbers(info: RunInfo, digest: RunDigest) -> tuple[str, float | None, float | None,
                                                                 str]:
    metric = info.spec.metric or first_training_metric(digest.metrics)
    found = digest.metric(metric)
    if found is None:
        return metric, None, None, info.spec.mode
    return metric, found.best, found.last, found.mode


def _finite(value: Any) -> float | None:
    return float(value) if is_finite(value) else None


def run_record(info: RunInfo, numbers: tuple[str, float | None, float | None, str]) -> RunRecord:
    metric, best, last, mode = numbers
    state = info.state
    params = params_label(info.spec.params)
    took = info.duration if state != rd.QUEUED else None  # a requeued run waits anew
    notes = annotations_label(info)
    cells = (info.run_id, info.experiment, state_label(state), params, metric, number(best),
             number(last), duration(took), notes)
    sort_keys = (info.run_id, info.experiment, state, params, metric,
                 MISSING if best is None else (-best if mode == "max" else best),
                 MISSING if last is None else last, MISSING if took is None else took, notes)
    search = f"{info.experiment} {info.run_id} {state} {params} {metric} {notes}".lower()
    return RunRecord(f"{info.experiment}/{info.run_id}", info, cells, sort_keys, search,
                     metric, best, last)


def _recency(info: RunInfo) -> float:
    """When a run last began: started, else queued, else created."""
    status = info.status
    when = status.started_at or status.queued_at or info.spec.created
    return float(when) if is_number(when) else 0.0


def _stamp(info: RunInfo) -> tuple[Any, ...]:
    status = info.status
    return (status.state, status.updated, status.queue_order)


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
        self._recency: dict[str, float] = {}  # when each run last began (`_recency`)
        self._order: list[str] = []
        self._by_experiment: dict[str, list[str]] = {}
        self._records: dict[str, RunRecord] = {}
        self._keys: dict[str, str] = {}
        self._active: set[str] = set()
        self._histories: dict[str, MetricHistory] = {}  # runs still being written
        self._live: dict[str, RunDigest] = {}  # their digests
        self._read: dict[str, RunDigest] = {}  # finished runs' curves, read once when shown
        self._entries: dict[str, list[ExperimentEntry]] = {}
        self._dirty: set[str] = set(manifest.experiments) if manifest else set()
        self._folder_times: dict[str, int] = {}

    # -- reading ---------------------------------------------------------------------------
    def scan(self) -> bool:
        """Find runs made or removed elsewhere; True if any changed.

        The first scan reads through the store's index of finished runs (one file per
        experiment). Later ones stat each experiment's folder and list only those
        whose modification time moved (a run directory was added or removed there);
        runs that may still change are followed by `poll`, not here.
        """
        if not self.loaded:
            self._folder_times = self._experiment_times()
            with collector_paused():  # thousands of records, no cycles among them
                for info in self.store.runs():
                    self._put(info)
            self.loaded = True
            return True
        changed = False
        times = self._experiment_times()
        for name in set(times) | set(self._folder_times):
            if times.get(name) == self._folder_times.get(name):
                continue
            seen = set()
            for path in self.store.run_paths(name) if name in times else []:
                ref = f"{name}/{path.name}"
                seen.add(ref)
                if ref not in self._infos and (found := load_run(path)) is not None:
                    self._put(found)
                    changed = True
                elif ref in self._infos and has_annotations(self._infos[ref]):
                    self._put(self._infos[ref])  # its tags or note may have changed
                    changed = True
            for ref in [r for r in self._by_experiment.get(name, []) if r not in seen]:
                self._drop(ref)
                changed = True
        self._folder_times = times
        return changed

    def _experiment_times(self) -> dict[str, int]:
        times = {}
        try:
            for entry in os.scandir(self.store.root):
                if entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."):
                    times[entry.name] = entry.stat().st_mtime_ns
        except FileNotFoundError:
            pass
        return times

    def poll(self) -> bool:
        """Re-read the runs the active index names, and the new metrics of running ones."""
        changed = False
        current = set()
        for info in self.store.active():
            ref = f"{info.experiment}/{info.run_id}"
            current.add(ref)
            old = self._infos.get(ref)
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
                self._live[ref] = digest = digest_history(history, info, now=self.clock(),
                                                          previous=self._live.get(ref))
                self._records[ref] = run_record(info, digest_numbers(info, digest))
                self._dirty.add(info.experiment)
                changed = True
        return changed

    def _put(self, info: RunInfo) -> None:
        ref = f"{info.experiment}/{info.run_id}"
        if ref not in self._infos:
            insort(self._order, ref)
            insort(self._by_experiment.setdefault(info.experiment, []), ref)
            self._keys[ref] = params_key(info.spec.params)
        self._infos[ref] = info
        self._recency[ref] = _recency(info)  # sorted by again and again: worked out once
        self._dirty.add(info.experiment)
        if info.is_final:
            self._active.discard(ref)
            self._live.pop(ref, None)
            history = self._histories.pop(ref, None)
            if history is not None:  # read what was written last, and keep it
                history.update()
                self._read[ref] = digest_history(history, info)
        elif info.state != rd.QUEUED:
            self._active.add(ref)
        digest = self._live.get(ref) or self._read.get(ref)
        numbers = digest_numbers(info, digest) if digest else stored_numbers(info)
        self._records[ref] = run_record(info, numbers)

    def _drop(self, ref: str) -> None:
        info = self._infos.pop(ref, None)
        for table in (self._records, self._keys, self._histories, self._live, self._read,
                      self._recency):
            table.pop(ref, None)
        self._active.discard(ref)
        if ref in self._order:
            self._order.remove(ref)
        if info is not None:
            self._dirty.add(info.experiment)
            siblings = self._by_experiment.get(info.experiment, [])
            if ref in siblings:
                siblings.remove(ref)

    def live_runs(self) -> list[RunInfo]:
        """The runs the active index names (queued, starting, running)."""
        return [self._infos[ref] for ref in sorted(self._active) if ref in self._infos]

    def digest(self, info: RunInfo) -> RunDigest:
        """A run's digest with curves: live for running runs, read once for finished ones."""
        ref = f"{info.experiment}/{info.run_id}"
        found = self._live.get(ref) or self._read.get(ref)
        if found is not None:
            return found
        if info.state == rd.QUEUED:
            return RunDigest()
        history = MetricHistory(info.dir.metrics_file)
        history.update()
        digest = digest_history(history, info)
        if info.is_final:
            self._read[ref] = digest
        return digest

    # -- building --------------------------------------------------------------------------
    def snapshot(self) -> CatalogSnapshot:
        self.version += 1
        records = tuple(self._records[ref] for ref in self._order)
        active = tuple(self._infos[ref] for ref in sorted(self._active))
        if self.manifest is not None:
            for name in self._dirty & set(self.manifest.experiments):
                refs = self._by_experiment.get(name, [])
                self._entries[name] = self._entries_of(self.manifest.experiments[name], refs)
            self._dirty.clear()
        entries = tuple(entry for name in (self.manifest.experiments if self.manifest else ())
                        for entry in self._entries.get(name, ()))
        return CatalogSnapshot(self.version, self.loaded, records, active, dict(self._live),
                               entries, dict(self._records))

    def _entries_of(self, exp: Experiment, refs: list[str]) -> list[ExperimentEntry]:
        param_sets = exp.param_sets()
        swept = list(exp.sweep)
        by_key: dict[str, list[str]] = {}
        for ref in refs:
            by_key.setdefault(self._keys[ref], []).append(ref)
        children = []
        if len(param_sets) > 1:
            # A sweep row holds the runs that agree on its swept values, whatever else
            # was --set for them (a smoke run with epochs=1 is still that row's run).
            by_swept: dict[str, list[str]] = {}
            for ref in refs:
                run_params = self._infos[ref].spec.params
                by_swept.setdefault(params_key({k: run_params.get(k) for k in swept}),
                                    []).append(ref)
            varying = [k for k in swept if len({repr(p.get(k)) for p in param_sets}) > 1]
            for index, params in enumerate(param_sets):
                label = sweep_label(params, varying or swept)
                chosen = {k: params[k] for k in swept}
                children.append(self._entry(exp, f"{exp.name}#{index}", label, 1,
                                            by_swept.get(params_key(chosen), []), chosen))
        parent = self._entry(exp, exp.name, exp.name, 0, refs, {})
        if children:  # the chart of an experiment overlays its sweep's rows
            curves = tuple(c.curves[0] for c in children if c.curves)
        else:  # or the latest run of each param set it was run with
            recency = self._recency
            groups = heapq.nlargest(_MOST_CURVES, by_key.values(),
                                    key=lambda g: max(map(recency.__getitem__, g)))
            curves = tuple(found for group in groups
                           if (found := self._curve(exp, group, short=len(groups) > 1)))
        parent = replace(parent, curves=curves)
        if len(by_key) > 1:  # one state per param set: its latest run's
            states: dict[str, int] = {}
            for group in by_key.values():
                state = self._infos[max(group, key=self._recency.__getitem__)].state
                states[state] = states.get(state, 0) + 1
            parent = replace(parent, states=states)
        return [parent, *children]

    def _entry(self, exp: Experiment, key: str, label: str, depth: int, refs: list[str],
               params: dict[str, Any]) -> ExperimentEntry:
        infos = self._infos
        latest = infos[max(refs, key=self._recency.__getitem__)] if refs else None
        metric = exp.metric or ""
        best = None
        if metric:
            larger = exp.mode == "max"
            for ref in refs:
                record = self._records[ref]
                value = record.best if record.metric == metric else None
                if value is not None and (best is None or (value > best if larger
                                                           else value < best)):
                    best = value
        curve: tuple[float, ...] = ()
        found = self._curve(exp, refs, label=label)
        if found is not None:
            metric, curve = found[1].name, found[1].points
        search = " ".join((exp.name, label, params_label(params), exp.group or "",
                           " ".join(exp.tags), exp.description)).lower()
        return ExperimentEntry(key, exp.name, label, depth, exp.group or "", tuple(exp.tags),
                               params, len(refs), {latest.state: 1} if latest else {}, latest,
                               metric, exp.mode, best, curve, search,
                               (found,) if found and depth else ())

    def _curve(self, exp: Experiment, refs: list[str], *, label: str = "", short: bool = False
               ) -> tuple[str, MetricDigest] | None:
        """The metric's curve of the latest of `refs` that has one (a queued or
        failed-at-start run has none), labelled `label` or by its run id."""
        for ref in heapq.nlargest(_LOOK_BACK, refs, key=self._recency.__getitem__):
            info = self._infos[ref]
            if info.state == rd.QUEUED:
                continue
            digest = self.digest(info)
            found = digest.metric(exp.metric or first_training_metric(digest.metrics))
            if found and found.points:
                name = label or (params_label(info.spec.params) if short else info.run_id)
                return name or info.run_id, found
        return None

