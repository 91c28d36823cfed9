"""Reordering the queue: move a queued run earlier or later.

The supervisor starts queued runs sorted by (queue_order, queued_at, run_id),
so the order is changed by rewriting `queue_order` in the runs' status files.
New orders stay inside the range the queued runs already span, so runs queued
later (whose order is the time they were queued) still come after them.
"""

from __future__ import annotations

from collections.abc import Sequence

from dltui.errors import UserError
from dltui.queue.scheduler import queue_key
from dltui.store import rundir as rd
from dltui.store.runs import RunInfo, RunStore

# Spacing for runs that share one order (a batch launched together).
_TIE_STEP = 1e-6


def queued_runs(store: RunStore) -> list[RunInfo]:
    """The queued runs in the order the supervisor will start them."""
    return sorted((info for info in store.active() if info.state == rd.QUEUED), key=queue_key)


def reorder_queue(store: RunStore, run_ids: Sequence[str]) -> list[RunInfo]:
    """Make the queued runs start in the order of `run_ids`; queued runs not named keep
    their places after the named ones. Returns the queue in its new order."""
    queued = queued_runs(store)
    by_id = {info.run_id: info for info in queued}
    named = [by_id[run_id] for run_id in dict.fromkeys(run_ids) if run_id in by_id]
    rest = [info for info in queued if info.run_id not in {i.run_id for i in named}]
    wanted = named + rest
    if [i.run_id for i in wanted] == [i.run_id for i in queued]:
        return queued
    orders = [float(info.status.queue_order) for info in queued]
    low, high = min(orders), max(orders)
    span = high - low
    count = len(wanted)
    step = span / (count - 1) if span > 0 and count > 1 else _TIE_STEP
    result = []
    for position, info in enumerate(wanted):
        order = low + position * step
        if float(info.status.queue_order) != order:
            # Only while still queued: the supervisor may have started it meanwhile.
            changed = info.dir.change_status_if((rd.QUEUED,), queue_order=order)
            if changed is None:
                continue
            info = RunInfo(info.dir, info.spec, changed)
        result.append(info)
    return sorted(result, key=queue_key)


def move_queued(store: RunStore, run_id: str, offset: int) -> list[RunInfo]:
    """Move one queued run `offset` places (negative: earlier); clamps at either end.

    Raises UserError when the run is not queued (it started, ended, or does not exist).
    """
    queued = queued_runs(store)
    ids = [info.run_id for info in queued]
    if run_id not in ids:
        raise UserError(f"run {run_id!r} is not queued",
                        fix="only runs that have not started can be moved")
    index = ids.index(run_id)
    target = max(0, min(len(ids) - 1, index + offset))
    if target == index:
        return queued
    ids.insert(target, ids.pop(index))
    return reorder_queue(store, ids)
