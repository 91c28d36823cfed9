"""Runs end to end through the real CLI: sweeps, metrics, TensorBoard files, compare."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import TRACKED, Project, printed_sweep, script

PY = sys.executable


def sweep_manifest(extra: str = "") -> str:
    printed = printed_sweep(script("prints.py"), 3, "0.1, 1.0, 10.0")
    return f"\n[settings]\nmax_parallel = 2\n{printed}{TRACKED}{extra}\n"


def scalars(run_path) -> dict[str, list[tuple[int, float]]]:
    acc = EventAccumulator(str(run_path / "tb"))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_sweep_end_to_end_with_stdout_metrics(project: Project) -> None:
    project.write(sweep_manifest())
    done = project.cli("run", "printed", check=True)
    assert done.stdout.count("done ") == 3, done.stdout
    runs = project.run_paths("printed")
    assert len(runs) == 3
    for path in runs:
        status = project.status_of(path)
        assert status["state"] == "succeeded" and status["exit_code"] == 0
        lines = [json.loads(x) for x in (path / "metrics.jsonl").read_text().splitlines()]
        assert [r["step"] for r in lines if "loss" in r] == [1, 2, 3]
        assert lines[0]["_total"] == 3
        # TensorBoard's own reader sees what the stdout parser found.
        found = scalars(path)
        assert [s for s, _ in found["loss"]] == [1, 2, 3]
        assert found["acc"][-1][1] > 0.5
        log = (path / "output.log").read_text()
        assert "epoch 3/3" in log and log.rstrip().endswith("done")
    table = project.invoke("compare", "printed", "--format", "md", check=True).stdout
    header = table.splitlines()[0]
    assert "Learning Rate" in header and "Training Loss" in header and "Valid. Acc." in header
    assert "epochs" not in header  # the same in every run: hidden
    names = [name.strip() for name in header.split("|")]
    assert names[2] == "Valid. Acc."  # the experiment's metric first, then the params
    rows = table.splitlines()[2:]
    at = names.index("Learning Rate")
    assert [r.split("|")[at].strip() for r in rows] == ["10", "1", "0.1"]  # best acc first
    csv_out = project.invoke("compare", "printed", "--format", "csv", check=True).stdout
    # Machine formats name what a column holds; the manifest's labels are for reading.
    assert csv_out.splitlines()[0].startswith("run,last:acc,param:lr,")
    assert "Learning Rate" not in csv_out
    latex = project.invoke("compare", "printed", "--format", "latex", check=True).stdout
    assert "\\begin{tabular}" in latex and "\\bottomrule" in latex
    as_json = json.loads(project.invoke("compare", "printed", "--format", "json").stdout)
    assert len(as_json) == 3 and {r["status"] for r in as_json} == {"succeeded"}
    assert sorted(r["param:lr"] for r in as_json) == [0.1, 1, 10]


def test_tracked_script_logs_once_and_summary_shows(project: Project) -> None:
    project.write(sweep_manifest())
    project.cli("run", "tracked", "--set", "lr=0.2", check=True)
    (path,) = project.run_paths("tracked")
    records = [json.loads(x) for x in (path / "metrics.jsonl").read_text().splitlines()]
    assert not any("decoy" in r for r in records)  # prints are not metrics when tracked
    assert [r["step"] for r in records if "val_acc" in r] == [1, 2, 3]
    assert json.loads((path / "summary.json").read_text()) == {"test_acc": 0.75}
    assert json.loads((path / "run.json").read_text())["params"]["lr"] == 0.2
    found = scalars(path)
    assert set(found) == {"train_loss", "val_acc"}
    table = project.invoke("compare", "tracked", check=True).stdout
    assert "test_acc" in table and "0.75" in table


def test_failed_run_fails_the_command_and_keeps_others(project: Project) -> None:
    project.write(sweep_manifest())
    done = project.cli("run", "tracked", "--set", "fail=true,false")
    assert done.returncode == 1
    states = sorted(project.status_of(p)["state"] for p in project.run_paths("tracked"))
    assert states == ["failed", "succeeded"]
    failed = next(p for p in project.run_paths("tracked")
                  if project.status_of(p)["state"] == "failed")
    assert project.status_of(failed)["exit_code"] == 3
    assert "exited with code 3" in done.stdout


def test_shell_metacharacters_pass_literally(project: Project) -> None:
    nasty = ["; rm -rf ~", "$(touch pwned)", "a b", "`id`", "'\"", "{x}", "*"]
    project.write(f"""
[experiments.argv]
command = ["{PY}", "{script('argv_dump.py')}", "{{value}}", "--flag={{value}}"]
params = {{ value = "x" }}
""")
    for value in nasty:
        project.cli("run", "argv", "--set", f"value={json.dumps(value)}", check=True)
    seen = [json.loads((p / "artifacts" / "argv.json").read_text())["argv"]
            for p in project.run_paths("argv")]
    assert sorted(seen) == sorted([[v, f"--flag={v}"] for v in nasty])
    assert not (project.root / "pwned").exists()


def test_command_that_cannot_start_fails_clearly(project: Project) -> None:
    project.write('[experiments.broken]\ncommand = ["/no/such/program"]\n')
    done = project.cli("run", "broken")
    assert done.returncode == 1
    (path,) = project.run_paths("broken")
    status = project.status_of(path)
    assert status["state"] == "failed" and "cannot start" in status["error"]
    logs = project.invoke("logs", "broken", check=True).stdout
    assert "/no/such/program" in logs


def test_run_references_resolve(project: Project) -> None:
    project.write(sweep_manifest())
    project.cli("run", "tracked", check=True)
    (path,) = project.run_paths("tracked")
    for ref in ("tracked", path.name, path.name[:-2], f"tracked/{path.name[:10]}"):
        assert "epoch 3" in project.invoke("logs", ref, check=True).stdout
    done = project.invoke("logs", "20")  # a prefix of every id is ambiguous once there are two
    project.cli("run", "tracked", check=True)
    done = project.invoke("logs", "20")
    assert done.returncode == 2 and "matches 2 runs" in done.stderr
    assert "Traceback" not in done.stderr


def test_logs_follow_prints_each_line_as_the_run_writes_it(project: Project) -> None:
    """`logs -f` is live: the run writes its next line only once the test has read the
    last one from the follower's output, so nothing can come in one piece at the end."""
    acks = project.root / "acks"
    acks.mkdir()
    code = ("import pathlib, time\n"
            "for k in range(3):\n"
            "    print('line', k, flush=True)\n"
            f"    while not pathlib.Path({str(acks)!r}, str(k)).exists():\n"
            "        time.sleep(0.01)\n")
    project.write(f'[experiments.talk]\ncommand = ["{sys.executable}", "-c", '
                  f'{json.dumps(code)}]\n')
    project.cli("run", "talk", "--detach", check=True)
    follower = subprocess.Popen(
        [sys.executable, "-m", "dltui.tui.program", "logs", "talk", "-f"], cwd=project.root,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=project.env())
    out = follower.stdout
    assert out is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in out], daemon=True).start()
    try:
        for k in range(3):
            while (line := lines.get(timeout=60).rstrip()) != f"line {k}":
                assert not line.startswith("line "), line  # in order, none skipped
            (acks / str(k)).touch()  # only now may the run write the next line
        assert follower.wait(timeout=60) == 0  # it ends with the run
    finally:
        follower.kill()
