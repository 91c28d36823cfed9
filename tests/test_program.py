"""The `dltui` program as installed: only the command named is built, and the process
ends without the interpreter's teardown; nothing of what a command prints or how it
exits may change for it. And the collector's pause that listings of thousands of
runs are made under."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

from conftest import Project
from dltui.store.bulk import collector_paused
from dltui.tui.cli import app

COMMANDS = sorted(str(command.name) for command in app.registered_commands)


def test_help_lists_every_command_and_each_command_its_own_options(project: Project) -> None:
    listed = project.cli("--help", check=True).stdout
    assert len(COMMANDS) > 15
    for name in COMMANDS:
        assert f"  {name} " in listed or f"  {name}\n" in listed, name
    own = project.cli("ps", "--help", check=True).stdout
    assert " ps [OPTIONS]" in own and "--all" in own


def test_a_misspelt_command_is_told_with_the_one_meant(project: Project) -> None:
    done = project.cli("pss")
    assert done.returncode == 2
    assert "No such command 'pss'" in done.stderr and "Did you mean 'ps'?" in done.stderr
    assert "Traceback" not in done.stderr


def test_options_before_the_command_hold_for_it(project: Project) -> None:
    project.runs = project.root / "compare"  # a runs directory called like a command
    project.finished_run("ps", "r1", {"lr": 0.1}, acc=0.5)  # and an experiment
    rows = json.loads(project.cli("--runs", "compare", "ps", "--all", "-f", "json",
                                  check=True).stdout)
    assert [(r["experiment"], r["run"]) for r in rows] == [("ps", "r1")]
    # The command's own option wins over the one before it.
    assert project.cli("--runs", "compare", "ps", "--all", "--runs", "elsewhere",
                       check=True).stdout == "no runs\n"
    missing = project.cli("--manifest", "other.toml", "validate")
    assert missing.returncode == 2 and "no manifest at other.toml" in missing.stderr


def test_a_long_listing_reaches_a_pipe_and_a_file_whole(project: Project,
                                                        tmp_path: Path) -> None:
    count = 3000
    for index in range(count):
        project.finished_run(f"sweep{index % 3}", f"r{index:05d}", {"lr": index},
                             acc=index / count)
    piped = project.cli("ps", "--all", check=True).stdout.splitlines()
    runs = [line for line in piped[1:] if not line.startswith("disk:")]
    assert len(runs) == count and piped[-1].startswith("disk: code snapshots")
    into = tmp_path / "listing.json"
    with open(into, "w") as out:  # a file: block-buffered, the last block written at exit
        subprocess.run([sys.executable, "-m", "dltui.tui.program", "compare", "--all-runs",
                        "-f", "json"], cwd=project.root, stdout=out, check=True,
                       env=project.env())
    assert len(json.loads(into.read_text())) == count


def test_exit_codes_and_messages_are_those_of_the_command(project: Project) -> None:
    missing = project.cli("logs", "no-such-run")
    assert missing.returncode == 2 and missing.stderr.startswith("error: ")
    assert "Traceback" not in missing.stderr
    assert project.cli("ps", check=True).stdout == "no runs\n"


def test_what_a_pause_made_leaves_the_young_generations_and_collection_resumes() -> None:
    gc.enable()
    marker = {"made": "while paused"}
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # nested: the outer pause ends it
            made = [[index] for index in range(20000)]
        assert not gc.isenabled()
        made.append([marker])
    assert gc.isenabled()
    assert gc.get_count()[0] < 1000  # not 20,000 objects waiting for a young collection
    young = {id(o) for o in gc.get_objects(generation=0)} | \
        {id(o) for o in gc.get_objects(generation=1)}
    assert id(made) not in young and id(made[-1]) not in young
    assert any(o is made for o in gc.get_objects(generation=2))
    assert gc.get_freeze_count() == 0  # nothing is kept out of collection for good
    del made
