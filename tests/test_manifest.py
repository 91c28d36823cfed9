"""Manifest validation: every mistake gives file, line, key and the fix; exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import Project
from dltui.errors import ManifestError, UserError
from dltui.manifest import load_manifest, parse_manifest, parse_overrides

GOOD = """
[settings]
max_parallel = 2

[defaults]
gpus = 1

[experiments.base]
command = ["python", "train.py", "--lr={lr}", "--name={name}"]
params = { lr = 0.1, name = "x" }
sweep = { lr = [0.1, 0.01], seed = [1, 2, 3] }
metric = "acc"
mode = "max"

[experiments.child]
task = "cnn"
needs = ["base"]
"""

# (manifest text, words the message must hold, line it must name or None)
MALFORMED = [
    ("[experiments.a]\ntask = 'cnn'\nlearning_rate = 1\n", ["unknown key 'learning_rate'"], 3),
    ("[experiments.a]\ntsk = 'cnn'\n", ["unknown key 'tsk'", "did you mean 'task'"], 2),
    ("[experiments.a]\ntask = 'cnnn'\n", ["unknown task 'cnnn'", "did you mean 'cnn'"], 2),
    ("[experiments.a]\ntask = 'cnn'\ncommand = ['x']\n", ["exactly one of task or command"], 1),
    ("[experiments.a]\ntask = 'cnn'\ngpus = 'one'\n", ["gpus must be an integer"], 3),
    ("[experiments.a]\ntask = 'cnn'\nsweep = { lr = [] }\n", ["sweep.lr is empty"], 3),
    ("[experiments.a]\ntask = 'cnn'\nsweep = { lr = 0.1 }\n", ["sweep.lr is not a list"], 3),
    ("[experiments.a]\ntask = 'cnn'\nneeds = ['b']\n", ["needs unknown 'b'"], 3),
    ("[experiments.a]\ntask = 'cnn'\nneeds = ['b']\n[experiments.b]\ntask = 'cnn'\n"
     "needs = ['a']\n", ["cycle", "a -> b -> a"], 1),
    ("[experiments.a]\ntask = 'cnn'\n[experiments.a]\ntask = 'cnn'\n", ["not valid TOML"], 3),
    ("[experiments.a]\ntask = 'cnn'\nmode = 'maximum'\n", ['mode must be "min" or "max"'], 3),
    ("[experiments.a]\ntask = 'cnn\n", ["not valid TOML"], None),
    ("[experiments.a]\ncommand = ['python', 'x.py', '{lr}']\n",
     ["uses {lr}", "neither a param nor a sweep key"], 2),
    ("[experiment.a]\ntask = 'cnn'\n", ["unknown top-level key 'experiment'",
                                        "did you mean 'experiments'"], 1),
    ("[settings]\nmax_paralel = 2\n[experiments.a]\ntask='cnn'\n",
     ["unknown setting 'max_paralel'", "did you mean 'max_parallel'"], 2),
    ("[experiments.a]\ntask = 'cnn'\ntags = 'x'\n", ["tags must be a list of strings"], 3),
    ('[experiments."a/b"]\ntask = "cnn"\n', ["cannot be a directory name"], 1),
    ('[experiments.".."]\ntask = "cnn"\n', ["cannot be a directory name"], 1),
    ('[experiments."a\\u0007b"]\ntask = "cnn"\n', ["cannot be a directory name", "\\x07"], None),
    ("", ["declares no experiments"], None),
]


def test_good_manifest_expands_sweeps_and_needs() -> None:
    manifest = parse_manifest(GOOD, path=Path("experiments.toml"))
    base = manifest.experiments["base"]
    assert base.gpus == 1 and base.mode == "max" and manifest.settings.max_parallel == 2
    runs = base.param_sets()
    assert len(runs) == 6
    assert {(r["lr"], r["seed"]) for r in runs} == {(lr, s) for lr in (0.1, 0.01)
                                                    for s in (1, 2, 3)}
    assert base.argv(runs[0])[2:] == ["--lr=0.1", "--name=x"]
    assert manifest.closure(["child"]) == ["base", "child"]


@pytest.mark.parametrize(("text", "words", "line"), MALFORMED)
def test_malformed_manifest_is_a_clear_error(text: str, words: list[str],
                                             line: int | None) -> None:
    with pytest.raises(UserError) as caught:
        parse_manifest(text, path=Path("exp.toml"))
    message = caught.value.message
    for word in words:
        assert word in message, message
    assert "fix:" in message
    if line is not None:
        assert f"exp.toml:{line}" in message


def test_overrides_parse_values_and_sweeps() -> None:
    assert parse_overrides(["lr=0.1"]) == {"lr": [0.1]}
    assert parse_overrides(["lr=0.1,0.01"]) == {"lr": [0.1, 0.01]}
    assert parse_overrides(["flag=true", "name=abc"]) == {"flag": [True], "name": ["abc"]}
    assert parse_overrides(['prompt="a, b"']) == {"prompt": ["a, b"]}
    assert parse_overrides(["xs=[1, 2]"]) == {"xs": [1, 2]}
    with pytest.raises(UserError, match="not key=value"):
        parse_overrides(["lr"])


def test_missing_manifest_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="--manifest"):
        load_manifest(tmp_path / "nope.toml")


def test_validate_command_exit_codes(project: Project) -> None:
    project.write(GOOD)
    done = project.invoke("validate")
    assert done.returncode == 0 and "2 experiments, 7 runs" in done.stdout
    project.write("[experiments.a]\ntask = 'cnn'\nepochs = 3\n")
    done = project.invoke("validate")
    assert done.returncode == 2
    assert "experiments.toml:3" in done.stderr and "unknown key 'epochs'" in done.stderr
    assert "Traceback" not in done.stderr
    assert ManifestError.__mro__[1] is UserError
