"""The Slurm backend: options, the state join, and runs on a real one-node Slurm.

The cluster tests need the test Slurm of `.ci/slurm-up` (tests/slurm_cluster.py says
why they skip without it). The job that must run into its time limit is submitted
as the session starts (conftest's `slurm_time_limit_run`); this module's name places
it after most of the suite, so that its minute or two of waiting has passed by then.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
import slurm_cluster

from conftest import Project, script, sleepy_on_slurm, wait_for
from dltui.backends import slurm, slurm_jobs
from dltui.backends.slurm_jobs import JobState, SlurmUnavailable
from dltui.backends.slurm_options import slurm_options, time_minutes
from dltui.errors import UserError
from dltui.store import rundir as rd
from dltui.store.active import active_paths

PY = sys.executable


def manifest(slurm_extra: str = "") -> str:
    printed = f"""command = ["{PY}", "{script('prints.py')}", "{{lr}}", "{{epochs}}"]
params = {{ epochs = 3 }}
sweep = {{ lr = [0.1, 1.0, 10.0] }}
metric = "acc"
mode = "max"
"""
    return f"""
[settings]
max_parallel = 3

[experiments.printed]
{printed}backend = "slurm"

[experiments.printed-local]
{printed}{sleepy_on_slurm()}
[backends.slurm]
time = 5
cpus_per_task = 1
{slurm_extra}
"""


# ---- options, without a cluster -------------------------------------------------------

@pytest.mark.parametrize(("given", "minutes"), [
    (90, 90), ("90", 90), ("1:30", 2), ("1:30:00", 90), ("2-00:00:00", 2880), ("1-2", 1560),
    ("0:0:10", 1), (0, None), ("soon", None), (True, None), (1.5, None)])
def test_time_limits_in_slurms_formats(given: object, minutes: int | None) -> None:
    assert time_minutes(given) == minutes


def test_options_map_to_submitit_and_set_wins(tmp_path: Path) -> None:
    options = slurm_options({"partition": "gpu", "time": "2:00:00", "mem": 32,
                             "sbatch": {"qos": "high", "exclusive": True, "requeue": False},
                             "setup": "module load cuda"},
                            {"lr": 0.1, "slurm.partition": "debug", "slurm.cpus_per_task": 4})
    params = options.submitit_parameters(experiment="cnn", gpus=2)
    assert params["partition"] == "debug" and params["time"] == 120 and params["mem"] == "32G"
    assert params["cpus_per_task"] == 4 and params["gpus_per_node"] == 2
    assert params["additional_parameters"] == {"qos": "high", "exclusive": True}
    assert params["setup"] == ["module load cuda"] and params["job_name"] == "dltui-cnn"
    assert options.array  # a sweep is one job array unless array = false


@pytest.mark.parametrize(("table", "params", "words"), [
    ({"tme": 5}, {}, "unknown slurm option 'tme'"),
    ({"time": "soon"}, {}, "'soon' is not a time limit"),
    ({"mem": "lots"}, {}, "'lots' is not an amount of memory"),
    ({"gpus_per_node": -1}, {}, "integer >= 0"),
    ({"sbatch": {"output": "x.log"}}, {}, "--output is set by dltui"),
    ({}, {"slurm.array": "yes"}, "--set slurm.array: slurm option array: must be true or false"),
])
def test_bad_options_say_where_and_how_to_fix(tmp_path: Path, table: dict[str, object],
                                              params: dict[str, object], words: str) -> None:
    path = tmp_path / "experiments.toml"
    path.write_text("[backends.slurm]\n" + "".join(f"{k} = {json.dumps(v)}\n"
                                                    for k, v in table.items()))
    with pytest.raises(UserError) as caught:
        slurm_options(table, params, manifest=str(path))
    assert words in str(caught.value) and "fix:" in str(caught.value)
    if table:
        assert f"{path}:2" in str(caught.value)  # the key's line of [backends.slurm]


def test_bad_options_fail_at_launch_naming_the_line(project: Project) -> None:
    project.write(manifest('tme = 5'))
    done = project.cli("run", "printed")
    assert done.returncode == 2, done.stderr
    assert "unknown slurm option 'tme'" in done.stderr and "did you mean 'time'" in done.stderr
    assert f"{project.manifest}:" in done.stderr
    assert not project.run_paths("printed")


# ---- Slurm's answers, parsed and joined, without a cluster ----------------------------

def test_squeue_and_sacct_lines_parse_with_arrays_expanded() -> None:
    text = "12_[2-3,5%2]|PENDING|Resources\n12_0|RUNNING|None\n12.batch|RUNNING|None\n" \
           "13|CANCELLED by 0|None\n"
    found = slurm_jobs._parse(text, ("job_id", "state", "reason"))
    assert sorted(found) == ["12_0", "12_2", "12_3", "12_5", "13"]
    assert found["12_5"].reason == "Resources" and found["12_0"].reason == ""
    assert found["13"].state == "CANCELLED" and found["13"].is_final


def test_one_query_serves_many_runs_for_a_while() -> None:
    calls: list[set[str]] = []

    def query(ids: Iterable[str]) -> dict[str, JobState]:
        calls.append(set(ids))
        return {i: JobState(i, "RUNNING") for i in ids}

    cache = slurm_jobs.JobStateCache(query)
    others = ["2", "3", "4"]
    assert cache.get("1", lambda: others).state == "RUNNING"
    assert all(cache.get(i, lambda: others).state == "RUNNING" for i in others)
    assert calls == [{"1", "2", "3", "4"}]
    cache.states = {k: (v[0] - slurm_jobs.CACHE_SECONDS, v[1]) for k, v in cache.states.items()}
    cache.get("2")
    assert len(calls) == 2

    def down(ids: Iterable[str]) -> dict[str, JobState]:
        calls.append(set(ids))
        raise SlurmUnavailable("squeue: error: Unable to contact slurm controller")

    cache = slurm_jobs.JobStateCache(down)
    for _ in range(3):
        with pytest.raises(SlurmUnavailable):
            cache.get("9")
    assert len(calls) == 3  # asked once, then remembered as down


@pytest.fixture
def fake_slurm(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, JobState]]:
    """Slurm's answers, set by the test."""
    answers: dict[str, JobState] = {}
    monkeypatch.setattr(slurm_jobs.CACHE, "query",
                        lambda ids: {i: answers[i] for i in ids if i in answers})
    slurm_jobs.CACHE.forget()
    yield answers
    slurm_jobs.CACHE.forget()


def slurm_run(root: Path, **status: object) -> rd.RunDir:
    spec = rd.RunSpec(run_id=f"r{time.monotonic_ns()}", experiment="exp", argv=["true"],
                      params={}, cwd=str(root), backend="slurm")
    return rd.create_run_dir(root, spec, **status)


@pytest.mark.parametrize(("slurm_state", "file_state", "shown"), [
    ("PENDING", rd.STARTING, rd.QUEUED),
    ("RUNNING", rd.STARTING, rd.RUNNING),
    ("COMPLETED", rd.SUCCEEDED, rd.SUCCEEDED),
    ("FAILED", rd.FAILED, rd.FAILED),
    ("OUT_OF_MEMORY", rd.RUNNING, rd.FAILED),
    ("NODE_FAIL", rd.RUNNING, rd.FAILED),
    ("CANCELLED", rd.RUNNING, rd.KILLED),
    ("TIMEOUT", rd.KILLED, rd.TIMEOUT),
    ("PREEMPTED", rd.RUNNING, rd.PREEMPTED),
])
def test_slurm_states_join_the_files(tmp_path: Path, fake_slurm: dict[str, JobState],
                                     slurm_state: str, file_state: str, shown: str) -> None:
    run = slurm_run(tmp_path, state=file_state, slurm_job_id="7", submitted_at=time.time())
    fake_slurm["7"] = JobState("7", slurm_state, time_limit="1:00")
    joined = slurm.join_status(run, run.status())
    assert joined.state == shown and joined.extra["slurm_state"] == slurm_state
    if shown in rd.FINAL_STATES:  # the verdict is written once, for every later reader
        assert run.status().state == shown
    if slurm_state == "TIMEOUT":
        assert "time limit of 1:00" in joined.error


def test_a_verdict_outlasts_the_wrappers_own_ending(tmp_path: Path,
                                                    fake_slurm: dict[str, JobState]) -> None:
    run = slurm_run(tmp_path, state=rd.RUNNING, slurm_job_id="8", submitted_at=time.time())
    fake_slurm["8"] = JobState("8", "TIMEOUT")
    assert slurm.join_status(run, run.status()).state == rd.TIMEOUT
    run.write_status(state=rd.KILLED)  # the wrapper, told to stop by the same signal, writes last
    fake_slurm.clear()  # and Slurm is not asked again
    assert slurm.join_status(run, run.status()).state == rd.TIMEOUT
    assert run.status().state == rd.TIMEOUT


def test_a_run_that_ended_long_before_anyone_looked_gets_slurms_verdict(
        tmp_path: Path, fake_slurm: dict[str, JobState]) -> None:
    long_ago = time.time() - 3 * slurm.LOST_AFTER  # timed out overnight, seen in the morning
    run = slurm_run(tmp_path, state=rd.KILLED, slurm_job_id="4", submitted_at=long_ago - 60,
                    ended_at=long_ago)
    fake_slurm["4"] = JobState("4", "TIMEOUT", time_limit="1:00")
    assert slurm.join_status(run, run.status()).state == rd.TIMEOUT
    assert run.status().state == rd.TIMEOUT and rd.TIMEOUT in rd.REQUEUABLE_STATES
    # A job Slurm has forgotten keeps the files' word, and Slurm is not asked again.
    forgotten = slurm_run(tmp_path, state=rd.KILLED, slurm_job_id="3",
                          submitted_at=long_ago - 60, ended_at=long_ago)
    joined = slurm.join_status(forgotten, forgotten.status())
    assert joined.state == rd.KILLED and "slurm_error" not in joined.extra
    fake_slurm["3"] = JobState("3", "TIMEOUT")
    slurm_jobs.CACHE.forget()
    assert slurm.join_status(forgotten, forgotten.status()).state == rd.KILLED


def test_a_long_finished_run_read_away_from_its_cluster_shows_its_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def down(ids: Iterable[str]) -> dict[str, JobState]:
        raise SlurmUnavailable("squeue is not installed on this host")

    monkeypatch.setattr(slurm_jobs.CACHE, "query", down)
    slurm_jobs.CACHE.forget()
    long_ago = time.time() - 3 * slurm.LOST_AFTER
    run = slurm_run(tmp_path, state=rd.FAILED, slurm_job_id="2", submitted_at=long_ago,
                    ended_at=long_ago)
    joined = slurm.join_status(run, run.status())
    assert joined.state == rd.FAILED and "slurm_error" not in joined.extra
    slurm_jobs.CACHE.forget()


def test_a_run_ends_with_its_job_not_before(tmp_path: Path,
                                            fake_slurm: dict[str, JobState]) -> None:
    run = slurm_run(tmp_path, state=rd.KILLED, slurm_job_id="6", submitted_at=time.time())
    fake_slurm["6"] = JobState("6", "COMPLETING")  # the wrapper got the signal; Slurm goes on
    joined = slurm.join_status(run, run.status())
    assert joined.state == rd.RUNNING and joined.extra["slurm_state"] == "COMPLETING"
    assert active_paths(tmp_path) == [run.path]  # listings and the dashboard keep following it
    fake_slurm["6"] = JobState("6", "TIMEOUT")
    slurm_jobs.CACHE.forget()
    assert slurm.join_status(run, run.status()).state == rd.TIMEOUT
    assert active_paths(tmp_path) == []


def test_a_job_slurm_requeues_runs_again_in_its_directory(
        tmp_path: Path, fake_slurm: dict[str, JobState]) -> None:
    run = slurm_run(tmp_path, state=rd.KILLED, slurm_job_id="5", submitted_at=time.time())
    fake_slurm["5"] = JobState("5", "PENDING", reason="BeginTime")
    joined = slurm.join_status(run, run.status())
    assert joined.state == rd.QUEUED and joined.extra["slurm_reason"] == "BeginTime"
    assert run.status().state == rd.STARTING and active_paths(tmp_path) == [run.path]
    run.stop_file.touch()  # stopped by the user: a pending answer does not undo it
    run.write_status(state=rd.KILLED)
    assert slurm.join_status(run, run.status()).state == rd.KILLED


def test_unreachable_slurm_leaves_the_files_as_they_are(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def down(ids: Iterable[str]) -> dict[str, JobState]:
        raise SlurmUnavailable("squeue is not installed on this host")

    monkeypatch.setattr(slurm_jobs.CACHE, "query", down)
    slurm_jobs.CACHE.forget()
    run = slurm_run(tmp_path, state=rd.RUNNING, slurm_job_id="9", submitted_at=time.time())
    joined = slurm.join_status(run, run.status())
    assert joined.state == rd.RUNNING and "not installed" in joined.extra["slurm_error"]
    slurm_jobs.CACHE.forget()


@pytest.fixture
def slurm_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """squeue and sacct as programs on PATH that print what the test writes into
    <folder>/<command>.out and <command>.err and exit with <command>.rc."""
    folder = tmp_path / "slurm-bin"
    folder.mkdir()
    for command in ("squeue", "sacct"):
        program = folder / command
        answers = folder / command
        program.write_text(f"#!/bin/sh\ncat {answers}.out\ncat {answers}.err >&2\n"
                           f"exit $(cat {answers}.rc)\n")
        program.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    slurm_jobs.CACHE.forget()
    yield folder
    slurm_jobs.CACHE.forget()


def answer(folder: Path, command: str, out: str = "", err: str = "", rc: int = 0) -> None:
    for suffix, text in (("out", out), ("err", err), ("rc", str(rc))):
        (folder / f"{command}.{suffix}").write_text(text)


def test_accounting_cannot_end_a_run_the_controller_did_not_answer_for(
        tmp_path: Path, slurm_commands: Path) -> None:
    # Slurm requeued job 7 (preemption): for seconds, sacct's last record says PREEMPTED
    # while the job is pending again. A controller too busy to answer squeue then must not
    # let accounting's word end the run.
    run = slurm_run(tmp_path, state=rd.KILLED, slurm_job_id="7", submitted_at=time.time())
    answer(slurm_commands, "squeue", err="squeue: error: slurm_load_jobs error: Socket timed "
           "out on send/recv operation", rc=1)
    answer(slurm_commands, "sacct", out="7|PREEMPTED|None|0:0|00:10:00\n")
    joined = slurm.join_status(run, run.status())
    assert joined.state == rd.KILLED and "Socket timed out" in joined.extra["slurm_error"]
    assert "slurm_verdict" not in run.status().extra  # nothing recorded from accounting
    # The controller answers at the next look, not half a minute later.
    answer(slurm_commands, "squeue", out="7|PENDING|BeginTime|10:00\n")
    time.sleep(slurm_jobs.CACHE_SECONDS)
    joined = slurm.join_status(run, run.status())
    assert joined.state == rd.QUEUED and joined.extra["slurm_reason"] == "BeginTime"
    assert run.status().state == rd.STARTING  # it runs again here


def test_accounting_answers_for_jobs_the_controller_has_forgotten(
        tmp_path: Path, slurm_commands: Path) -> None:
    run = slurm_run(tmp_path, state=rd.RUNNING, slurm_job_id="8", submitted_at=time.time())
    answer(slurm_commands, "squeue", err="slurm_load_jobs error: Invalid job id specified", rc=1)
    answer(slurm_commands, "sacct", out="8|PREEMPTED|None|0:0|00:10:00\n")
    joined = slurm.join_status(run, run.status())
    assert joined.state == rd.PREEMPTED and run.status().extra["slurm_verdict"] == "PREEMPTED"
    # Without accounting, a job the controller has forgotten is unknown, not an error.
    other = slurm_run(tmp_path, state=rd.RUNNING, slurm_job_id="9", submitted_at=time.time())
    answer(slurm_commands, "sacct", err="sacct: error: Problem talking to the database", rc=1)
    slurm_jobs.CACHE.forget()
    joined = slurm.join_status(other, other.status())
    assert joined.state == rd.RUNNING and "slurm_error" not in joined.extra


def test_sbatch_refusals_carry_slurms_words() -> None:
    said = ("sbatch: error: invalid partition specified: nosuch\n"
            "sbatch: error: Batch job submission failed: Invalid partition name specified")
    text = slurm._refusal(said)
    assert text.startswith("Slurm refused the job: sbatch: error: invalid partition")
    assert "Invalid partition name specified" in text and "sinfo -s" in text


# ---- a real Slurm ---------------------------------------------------------------------

@pytest.fixture(autouse=True)
def jobs_stopped_after(request: pytest.FixtureRequest) -> Iterator[None]:
    """A cluster test that fails midway leaves no job to hold the node's CPUs for the next."""
    # Asked for here, the project outlives this fixture's teardown.
    project = (request.getfixturevalue("project")
               if {"cluster", "project"} <= set(request.fixturenames) else None)
    yield
    if project is not None:
        project.cli("stop", "--all")


def row_of(project: Project, path: Path) -> dict[str, object]:
    rows = [r for r in project.ps_json("--all") if r["run"] == path.name]
    return rows[0] if rows else {}


def compare_cells(project: Project, experiment: str) -> list[list[str]]:
    """The comparison table without the run ids and durations, which differ."""
    table = project.cli("compare", experiment, "--format", "md", check=True).stdout
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in table.splitlines()]
    keep = [i for i, name in enumerate(rows[0]) if name not in ("Run", "Duration")]
    return [[row[i] for i in keep] for row in rows]


def test_a_sweep_on_slurm_finishes_and_compares_like_a_local_one(
        cluster: slurm_cluster.Cluster, project: Project) -> None:
    project.write(manifest())
    done = project.cli("run", "printed", "printed-local", timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    paths = project.run_paths("printed")
    statuses = [project.status_of(p) for p in paths]
    assert [s["state"] for s in statuses] == ["succeeded"] * 3, statuses
    assert all(s["host"] for s in statuses)  # the wrapper ran, on the compute node
    rows = [r for r in project.ps_json("--all") if r["experiment"] == "printed"]
    assert [r["slurm_state"] for r in rows] == ["COMPLETED"] * 3
    # One job array for the sweep: one id, its elements 0..2.
    arrays = {str(s["slurm_job_id"]).partition("_")[0] for s in statuses}
    assert len(arrays) == 1
    assert sorted(str(s["slurm_job_id"]).partition("_")[2] for s in statuses) == ["0", "1", "2"]
    for path in paths:
        log = (path / "output.log").read_text()
        assert "epoch 3/3" in log and log.rstrip().endswith("done")
        steps = [json.loads(x)["step"] for x in (path / "metrics.jsonl").read_text().splitlines()]
        assert steps == [1, 2, 3]
    assert compare_cells(project, "printed") == compare_cells(project, "printed-local")
    listing = project.cli("ps", "--all", check=True).stdout
    assert listing.count("slurm:") == 3 and listing.count("succeeded") == 6


def test_stop_cancels_running_and_pending_jobs_within_seconds(
        cluster: slurm_cluster.Cluster, project: Project) -> None:
    project.write(manifest())
    project.cli("run", "sleepy", "-d", "--set", "pidfile=running.pid", check=True)
    project.cli("run", "sleepy", "-d", "--set", "pidfile=held.pid",
                "--set", "slurm.sbatch={hold=true}", check=True)  # stays PENDING
    by_pidfile = {rd.RunDir(p).spec().params["pidfile"]: p  # type: ignore[union-attr]
                  for p in project.run_paths("sleepy")}
    running, held = by_pidfile["running.pid"], by_pidfile["held.pid"]
    wait_for(lambda: (project.root / "running.pid").exists(), timeout=60, what="the job to start")
    assert row_of(project, running)["state"] == "running"
    pending = wait_for(lambda: (r := row_of(project, held)).get("slurm_state") == "PENDING" and r,
                       timeout=30, what="the held job to be pending")
    assert pending["state"] == "queued"  # type: ignore[index]
    assert pending["slurm_reason"] == "JobHeldUser"  # type: ignore[index]
    assert "queued (PENDING: JobHeldUser)" in project.cli("ps", check=True).stdout
    pid = int((project.root / "running.pid").read_text())
    started = time.monotonic()
    project.cli("stop", running.name, held.name, check=True)
    for path in (running, held):
        row = wait_for(lambda p=path: (r := row_of(project, p)).get("state") == "killed" and r,
                       timeout=10, what="the run to show killed")
        assert row["slurm_state"] == "CANCELLED"  # type: ignore[index]
        job = str(project.status_of(path)["slurm_job_id"])
        wait_for(lambda j=job: cluster.job_state(j) == "CANCELLED", timeout=30, poll=0.5,
                 what="Slurm to say CANCELLED (after COMPLETING)")
    assert time.monotonic() - started < 15
    wait_for(lambda: not os.path.exists(f"/proc/{pid}"), timeout=15, what="the script to end")
    assert "killed (CANCELLED)" in project.cli("ps", "--all", check=True).stdout


def test_a_refused_job_fails_with_slurms_words(cluster: slurm_cluster.Cluster,
                                               project: Project) -> None:
    project.write(manifest())
    done = project.cli("run", "printed", "--set", "lr=0.1", "--set", "slurm.partition=nosuch",
                       timeout=60)
    assert done.returncode == 1
    (path,) = project.run_paths("printed")
    status = project.status_of(path)
    assert status["state"] == "failed"
    assert "Slurm refused the job" in status["error"]
    assert "Invalid partition name specified" in status["error"] and "sinfo -s" in status["error"]
    assert "Invalid partition name specified" in done.stdout


def test_a_job_past_its_time_limit_shows_timeout_and_requeues(
        cluster: slurm_cluster.Cluster, slurm_time_limit_run: tuple[Project, Path]) -> None:
    project, path = slurm_time_limit_run
    row = wait_for(lambda: (r := row_of(project, path)).get("state") == "timeout" and r,
                   timeout=180, poll=2, what="the run to show timeout")
    assert row["slurm_state"] == "TIMEOUT" and "time limit" in str(row["error"])  # type: ignore[index]
    assert cluster.job_state(str(row["slurm_job_id"])) == "TIMEOUT"  # type: ignore[index]
    assert " timeout " in project.cli("ps", "--all", check=True).stdout
    first_job = project.status_of(path)["slurm_job_id"]
    said = project.cli("requeue", path.name, check=True).stdout
    assert "requeued as Slurm job" in said and "from the start" in said  # a sleeper: no checkpoint
    status = project.status_of(path)
    assert status["attempt"] == 2 and status["slurm_jobs"] == [first_job]
    assert status["slurm_job_id"] != first_job
    assert path.name in project.cli("ps", check=True).stdout  # pending or running: listed
    wait_for(lambda: (path / "output.log").read_text().count("epoch 1") == 2, timeout=60,
             what="the requeued job to run in the same directory")
    project.cli("stop", path.name, check=True)
    wait_for(lambda: row_of(project, path).get("state") == "killed", timeout=15,
             what="the requeued run to stop")


# ---- preemption: the cluster's "urgent" partition preempts "spot" (cancel) and "debug"
# (requeue); these come last, when the time-limit job no longer holds a CPU.

def trainer_manifest(partition: str) -> str:
    # Two CPUs: a job of two CPUs in "urgent" must preempt it to run.
    return f"""
[experiments.cnn]
task = "cnn"
params = {{ epochs = 6, train_count = 2000, val_count = 200, test_count = 200 }}
backend = "slurm"

[backends.slurm]
time = 10
cpus_per_task = 2
partition = "{partition}"
"""


def trained_two_epochs(project: Project, partition: str) -> Path:
    project.write(trainer_manifest(partition))
    project.cli("run", "cnn", "-d", check=True)
    (path,) = project.run_paths("cnn")
    wait_for(lambda: (path / "metrics.jsonl").exists() and sum(
        "val_acc" in line for line in (path / "metrics.jsonl").read_text().splitlines()) >= 2,
        timeout=300, poll=0.2, what="two epochs on the cluster")
    return path


def urgent_job(cluster: slurm_cluster.Cluster) -> None:
    done = cluster.run("sbatch", "-p", "urgent", "-c", "2", "-o", "/dev/null",
                       "--wrap", "sleep 1")
    assert done.returncode == 0, done.stderr


def epochs_logged(path: Path) -> list[int]:
    rows = [json.loads(x) for x in (path / "metrics.jsonl").read_text().splitlines()]
    return [row["step"] for row in rows if "val_acc" in row]


def test_a_preempted_run_says_so_and_resumes_when_requeued(
        cluster: slurm_cluster.Cluster, project: Project) -> None:
    path = trained_two_epochs(project, "spot")
    first_job = project.status_of(path)["slurm_job_id"]
    urgent_job(cluster)
    row = wait_for(lambda: (r := row_of(project, path)).get("state") == "preempted" and r,
                   timeout=60, poll=0.5, what="the run to show preempted")
    assert row["slurm_state"] == "PREEMPTED"  # type: ignore[index]
    assert "preempted by Slurm" in str(row["error"])  # type: ignore[index]
    assert " preempted " in project.cli("ps", "--all", check=True).stdout
    assert (path / "artifacts" / "checkpoint.pt").exists()
    said = project.cli("requeue", path.name, check=True).stdout
    assert "requeued as Slurm job" in said and "resumes from its checkpoint" in said
    wait_for(lambda: project.status_of(path).get("state") == "succeeded", timeout=280,
             poll=0.5, what="the requeued run to finish")
    status = project.status_of(path)
    assert status["attempt"] == 2 and status["slurm_jobs"] == [first_job]
    assert epochs_logged(path) == [1, 2, 3, 4, 5, 6]  # none lost, none twice
    assert "resuming after epoch" in (path / "output.log").read_text()
    assert not (path / "artifacts" / "checkpoint.pt").exists()


def test_a_run_slurm_requeues_itself_resumes_in_its_directory(
        cluster: slurm_cluster.Cluster, project: Project) -> None:
    path = trained_two_epochs(project, "debug")
    job = str(project.status_of(path)["slurm_job_id"])
    urgent_job(cluster)
    row = wait_for(lambda: (r := row_of(project, path)).get("slurm_state") == "PENDING" and r,
                   timeout=60, poll=0.5, what="the run to be pending again")
    assert row["state"] == "queued"  # type: ignore[index]

    def started_again() -> bool:
        # Slurm holds a requeued job for a while (BeginTime); an admin may let it go at once.
        cluster.run("scontrol", "update", f"jobid={job}", "StartTime=now")
        return project.status_of(path).get("slurm_restarts") == 1

    wait_for(started_again, timeout=120, poll=1, what="the job to start again")
    wait_for(lambda: project.status_of(path).get("state") == "succeeded", timeout=240,
             poll=0.5, what="the resumed run to finish")
    assert project.status_of(path)["slurm_job_id"] == job  # the same job, run again
    assert epochs_logged(path) == [1, 2, 3, 4, 5, 6]
    log = (path / "output.log").read_text()
    assert "resuming after epoch" in log
    assert "the run starts again (attempt 1, Slurm restart 1)" in log
