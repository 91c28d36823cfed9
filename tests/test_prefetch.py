"""The dashboard's first read of a runs directory, done on another core while it loads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dltui.store import rundir as rd
from dltui.store.index import INDEX_FILE
from dltui.store.prefetch import _children, prefetch_runs, wait_for_prefetch
from dltui.store.runs import RunStore


def forking_is_safe() -> bool:
    from dltui.procs import can_fork

    return can_fork()


# Checked as each test starts: a thread another test left running forbids the fork.
needs_fork = pytest.mark.skipif("not forking_is_safe()",
                                reason="a fork needs Linux and no other thread")


def finished_runs(root: Path, count: int) -> None:
    for index in range(count):
        spec = rd.RunSpec(run_id=f"r{index:03d}", experiment=f"e{index % 3}", argv=[],
                          params={"i": index}, cwd=str(root))
        rd.create_run_dir(root, spec, state=rd.SUCCEEDED, started_at=1.0, ended_at=2.0)


@needs_fork
def test_a_prefetch_leaves_the_index_and_the_same_runs(tmp_path: Path) -> None:
    finished_runs(tmp_path, 30)
    prefetch_runs(tmp_path)
    assert tmp_path in _children  # a child reads while this process goes on
    found = RunStore(tmp_path).runs()  # waits for the child, then reads its index
    assert tmp_path not in _children
    assert sorted(i.run_id for i in found) == [f"r{i:03d}" for i in range(30)]
    for name in ("e0", "e1", "e2"):
        assert (tmp_path / name / INDEX_FILE).is_file()
    assert [i.spec.params for i in found] == [i.spec.params for i in RunStore(tmp_path).runs()]


def test_no_prefetch_of_a_missing_folder_and_waiting_without_one(tmp_path: Path) -> None:
    prefetch_runs(tmp_path / "none")
    assert tmp_path / "none" not in _children
    wait_for_prefetch(tmp_path)  # nothing started: returns at once


@needs_fork
def test_an_index_that_cannot_be_written_costs_only_time(tmp_path: Path) -> None:
    finished_runs(tmp_path, 6)
    for name in ("e0", "e1", "e2"):
        (tmp_path / name / INDEX_FILE).mkdir()  # in the way of every index file
    prefetch_runs(tmp_path)
    assert sorted(i.run_id for i in RunStore(tmp_path).runs()) == [f"r{i:03d}" for i in range(6)]


@needs_fork
def test_a_slow_prefetch_is_not_waited_for_past_its_limit(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import signal
    import time

    finished_runs(tmp_path, 3)
    real_runs = RunStore.runs

    def slow_runs(self: RunStore, *args: object, **kwargs: object) -> object:
        time.sleep(30)  # a disk that hangs (the child is a copy of this process)
        return real_runs(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(RunStore, "runs", slow_runs)
    prefetch_runs(tmp_path)
    pid = _children[tmp_path].pid
    monkeypatch.setattr(RunStore, "runs", real_runs)
    try:
        wait_for_prefetch(tmp_path, longest=0.2)
        assert os.waitpid(pid, os.WNOHANG) == (0, 0)  # still reading: not waited for
        assert len(RunStore(tmp_path).runs()) == 3  # this process read for itself
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


@needs_fork
def test_an_experiment_is_read_as_soon_as_the_child_is_done_with_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import signal
    import time

    finished_runs(tmp_path, 9)
    real_runs = RunStore.runs

    def stuck_on_the_last(self: RunStore, experiment: str | None = None,
                          **kwargs: object) -> object:
        if experiment == "e2":
            time.sleep(30)  # the child never gets past e2
        return real_runs(self, experiment, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(RunStore, "runs", stuck_on_the_last)
    prefetch_runs(tmp_path)
    pid = _children[tmp_path].pid
    monkeypatch.setattr(RunStore, "runs", real_runs)
    try:
        first = RunStore(tmp_path).runs("e0")  # the child wrote e0's index: no waiting
        assert [i.run_id for i in first] == ["r000", "r003", "r006"]
        assert tmp_path in _children  # not given up on (after its 5 s): it said e0 was done
        assert os.waitpid(pid, os.WNOHANG) == (0, 0)  # and it is still on e2
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        _children.pop(tmp_path, None)
