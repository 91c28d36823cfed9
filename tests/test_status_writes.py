"""status.json is changed by several processes at once (the wrapper, the queue's
supervisor, a Slurm submitter, `dltui stop`): no change may undo another's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dltui.store import rundir as rd

WRITER = """
import sys
from dltui.store import rundir as rd
run, key, count = rd.RunDir(sys.argv[1]), sys.argv[2], int(sys.argv[3])
for i in range(count):
    run.write_status(**{key: i})
"""

CLAIMER = """
import sys
from dltui.store import rundir as rd
run = rd.RunDir(sys.argv[1])
won = run.change_status_if((rd.QUEUED,), state=rd.STARTING, claimed_by=sys.argv[2])
print("won" if won is not None else "lost")
"""


def made_run(tmp_path: Path) -> rd.RunDir:
    spec = rd.RunSpec(run_id="r1", experiment="exp", argv=["true"], params={},
                     cwd=str(tmp_path))
    return rd.create_run_dir(tmp_path / "runs", spec, state=rd.QUEUED)


def test_writers_in_other_processes_lose_no_change(tmp_path: Path) -> None:
    run = made_run(tmp_path)
    count = 300
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(run.path), key, str(count)])
               for key in ("from_wrapper", "from_supervisor", "from_submitter")]
    assert [w.wait(timeout=120) for w in writers] == [0, 0, 0]
    status = run.status()
    # Without the lock, a read-change-replace racing another drops the other's key.
    extra = status.extra
    assert extra["from_wrapper"] == extra["from_supervisor"] == extra["from_submitter"] \
        == count - 1
    assert status.state == rd.QUEUED
    assert not [p.name for p in run.path.iterdir() if p.name.endswith(".tmp")]


def test_only_one_process_claims_a_queued_run(tmp_path: Path) -> None:
    run = made_run(tmp_path)
    claimers = [subprocess.Popen([sys.executable, "-c", CLAIMER, str(run.path), f"c{i}"],
                                 stdout=subprocess.PIPE, text=True) for i in range(6)]
    said = [c.communicate(timeout=120)[0].strip() for c in claimers]
    assert sorted(said) == ["lost"] * 5 + ["won"]
    winner = f"c{said.index('won')}"
    assert run.status().extra["claimed_by"] == winner and run.status().state == rd.STARTING


def test_a_change_for_another_state_writes_nothing(tmp_path: Path) -> None:
    run = made_run(tmp_path)
    before = run.status_file.read_bytes()
    assert run.change_status_if((rd.RUNNING, rd.STARTING), state=rd.KILLED) is None
    assert run.status_file.read_bytes() == before
    changed = run.change_status_if((rd.QUEUED,), queue_order=3.5)
    assert changed is not None and changed.queue_order == 3.5
    assert run.status().queue_order == 3.5


def test_a_store_polling_often_sees_every_change_of_status(tmp_path: Path) -> None:
    """RunStore.active() skips parsing a status file it read before: any rewrite, even
    one of the same size within the same clock tick, must still be seen."""
    from dltui.store.active import mark_active, unmark_active
    from dltui.store.runs import RunStore

    run = made_run(tmp_path)
    root = run.runs_root
    mark_active(root, run.path)
    store = RunStore(root)
    assert [i.state for i in store.active()] == [rd.QUEUED]
    for order in range(50):  # same size each time: only the new file tells them apart
        run.write_status(queue_order=order % 10)
        assert [i.status.queue_order for i in store.active()] == [order % 10]
    run.write_status(state=rd.KILLED)
    assert [i.state for i in store.active()] == [rd.KILLED]  # seen once as it ends
    assert store.active() == []  # and it has left the index
    mark_active(root, run.path)
    run.write_status(state=rd.QUEUED)
    assert [i.state for i in store.active()] == [rd.QUEUED]  # requeued in place
    unmark_active(root, run.run_id)
    assert store.active() == []


IDS = """
from dltui.store.names import new_run_id
print("\\n".join(new_run_id() for _ in range(3000)))
"""


def test_run_ids_sort_in_creation_order_and_never_repeat() -> None:
    """A sweep is made within one second: its ids must still be unique and ordered
    (`dltui logs EXPERIMENT` means the latest run; the queue index is keyed by id)."""
    from dltui.store.names import new_run_id

    ids = [new_run_id() for _ in range(5000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(len(i) == len("20260101-000000-0000") for i in ids)
    same_second = [new_run_id(now=1_800_000_000.5) for _ in range(3)]
    assert same_second == sorted(same_second) and len(set(same_second)) == 3


def test_runs_made_at_once_by_two_processes_keep_their_own_ids(tmp_path: Path) -> None:
    """Two processes may make the same id on one clock tick: the second run directory
    takes the next id instead of failing or overwriting the first."""
    spec = rd.RunSpec(run_id="20260101-000000-0001", experiment="exp", argv=["true"],
                      params={"who": "first"}, cwd=str(tmp_path))
    first = rd.create_run_dir(tmp_path / "runs", spec, state=rd.QUEUED)
    second = rd.create_run_dir(tmp_path / "runs", rd.RunSpec.from_json(
        {**spec.__dict__, "params": {"who": "second"}}), state=rd.QUEUED)
    assert first.path.name == "20260101-000000-0001" != second.path.name
    assert first.spec().params == {"who": "first"}  # type: ignore[union-attr]
    assert second.spec().params == {"who": "second"}  # type: ignore[union-attr]
    assert second.spec().run_id == second.path.name  # type: ignore[union-attr]
    assert sorted(p.name for p in (tmp_path / "runs" / "exp").iterdir()) == sorted(
        [first.path.name, second.path.name])  # no staging folder left behind
    made = [subprocess.run([sys.executable, "-c", IDS], capture_output=True, text=True,
                           check=True).stdout.split() for _ in range(2)]
    assert all(ids == sorted(ids) and len(set(ids)) == 3000 for ids in made)
