"""Seeds: each configuration once per seed, grouped into mean ± std, n, a ranking by
mean and Welch's t-test against the best, checked against numbers worked by hand."""

from __future__ import annotations

import ast
import json
import math
import sys
from pathlib import Path

import pytest

from conftest import Project, script
from dltui.manifest import parse_manifest
from dltui.tasks import BUILTIN_TASKS
from dltui.views.seeds import MeanStd, regularized_beta, student_t_two_sided, welch_test

# acc of the toy over seeds 0, 1, 2: 0.970, 0.975, 0.977 (lr 0.1), 0.950, 0.955, 0.957.
# mean 0.974; deviations -0.004, 0.001, 0.003; squares 16 + 1 + 9 = 26 (x 1e-6);
# variance 26e-6 / 2 = 13e-6; std = sqrt(13e-6) = 0.0036056.
HAND_STD = math.sqrt(13e-6)
# Welch: equal variances and sizes, so se = sqrt(2 * 13e-6 / 3) and df = 2 (n - 1) = 4;
# t = 0.020 / se.
HAND_T = 0.020 / math.sqrt(2 * 13e-6 / 3)


def t4_two_sided(t: float) -> float:
    """Student's t with 4 degrees of freedom in closed form:
    F(t) = 1/2 + 3/8 * t / sqrt(1 + t^2/4) * (1 - t^2 / (12 (1 + t^2/4)))."""
    cdf = 0.5 + 3 / 8 * t / math.sqrt(1 + t * t / 4) * (1 - t * t / (12 * (1 + t * t / 4)))
    return 2 * (1 - cdf)


def test_mean_and_std_as_a_paper_prints_them() -> None:
    found = MeanStd.of([0.970, 0.975, 0.977])
    assert (found.mean, found.std, found.n) == (pytest.approx(0.974), pytest.approx(HAND_STD),
                                                3)
    assert str(found) == "0.974 ± 0.004"
    assert str(MeanStd(0.974, 0.0153, 5)) == "0.974 ± 0.015"  # a leading 1 keeps two digits
    assert str(MeanStd(81.25, 2.4, 3)) == "81 ± 2"
    assert str(MeanStd(770218.0, 0.0, 3)) == "770,218"  # the same in every run
    assert str(MeanStd(0.97412, 0.0, 1)) == "0.9741"  # one run: no spread to show


def test_welch_and_the_t_distribution_against_closed_forms() -> None:
    # df = 1 is the Cauchy distribution: P(|T| >= 1) = 1/2 exactly.
    assert student_t_two_sided(1.0, 1.0) == pytest.approx(0.5, abs=1e-12)
    # df = 2: P(|T| >= t) = 1 - t / sqrt(2 + t^2).
    for t in (0.5, 2.0, 7.0):
        assert student_t_two_sided(t, 2.0) == pytest.approx(1 - t / math.sqrt(2 + t * t),
                                                            rel=1e-10)
    for t in (0.3, 1.5, HAND_T):
        assert student_t_two_sided(t, 4.0) == pytest.approx(t4_two_sided(t), rel=1e-9)
    assert student_t_two_sided(1.959964, 1e7) == pytest.approx(0.05, rel=1e-5)
    assert regularized_beta(0.3, 1.0, 1.0) == pytest.approx(0.3)  # I_x(1, 1) = x
    # [1, 2, 3] against [4, 6, 8]: means 2 and 6, variances 1 and 4; se^2 = 1/3 + 4/3;
    # t = -4 / sqrt(5/3); df = (5/3)^2 / ((1/3)^2 / 2 + (4/3)^2 / 2) = 50/17.
    test = welch_test([1, 2, 3], [4, 6, 8])
    assert test is not None
    assert test.t == pytest.approx(-4 / math.sqrt(5 / 3))
    assert test.df == pytest.approx(50 / 17)
    same = welch_test([0.970, 0.975, 0.977], [0.950, 0.955, 0.957])
    assert same is not None and same.df == pytest.approx(4.0)
    assert same.p == pytest.approx(t4_two_sided(HAND_T), rel=1e-9)
    assert welch_test([1.0], [2.0, 3.0]) is None
    assert welch_test([1.0, 1.0], [2.0, 2.0]) is None


def seeded_manifest() -> str:
    return f"""
[experiments.seeded]
command = ["{sys.executable}", "{script('seeded_toy.py')}", "--lr={{lr}}", "--seed={{seed}}"]
sweep = {{ lr = [0.01, 0.1] }}
seeds = 3
metric = "acc"
mode = "max"
"""


def test_seeded_runs_compare_and_report_as_mean_std(project: Project) -> None:
    project.write(seeded_manifest())
    project.cli("run", "seeded", check=True, timeout=180)
    params = [json.loads((p / "run.json").read_text())["params"]
              for p in project.run_paths("seeded")]
    assert sorted((p["lr"], p["seed"]) for p in params) == [
        (lr, seed) for lr in (0.01, 0.1) for seed in range(3)]

    rows = json.loads(project.cli("compare", "seeded", "-f", "json", check=True).stdout)
    assert [(r["param:lr"], r["n"]) for r in rows] == [(0.1, 3), (0.01, 3)]  # ranked by mean
    assert rows[0]["last:acc"]["mean"] == pytest.approx(0.974)
    assert rows[0]["last:acc"]["std"] == pytest.approx(HAND_STD)
    assert rows[1]["last:acc"]["mean"] == pytest.approx(0.954)
    assert rows[0]["p:welch"] is None
    assert rows[1]["p:welch"] == pytest.approx(t4_two_sided(HAND_T), rel=1e-6)
    md = project.cli("compare", "seeded", "-f", "md", check=True).stdout
    assert "| 0.1 | 3 | 0.974 ± 0.004 | - | succeeded |" in md
    assert "| 0.01 | 3 | 0.954 ± 0.004 |" in md
    latex = project.cli("compare", "seeded", "-f", "latex", check=True).stdout
    assert r"0.1 & 3 & 0.974 $\pm$ 0.004 & - & succeeded \\" in latex

    out = project.root / "report"
    project.cli("report", "seeded", "-o", str(out), check=True)
    report = json.loads((out / "report.json").read_text())
    figure = next(f for f in report["figures"] if f["metric"] == "acc")
    assert figure["kind"] == "mean-curve"
    best = figure["series"][0]
    assert best["label"] == "lr=0.1 (n=3)" and len(best["runs"]) == 3
    assert best["x"] == [1.0, 2.0]
    assert best["y"] == pytest.approx([0.874, 0.974])
    assert best["std"] == pytest.approx([HAND_STD, HAND_STD])
    assert "0.974 ± 0.004" in (out / "report.md").read_text()


def test_seeds_on_the_command_line_and_bad_seeds(project: Project) -> None:
    project.write(f"""
[experiments.once]
command = ["{sys.executable}", "{script('seeded_toy.py')}", "--lr={{lr}}", "--seed={{seed}}"]
params = {{ lr = 0.1, seed = 0 }}
metric = "acc"
""")
    project.cli("run", "once", "--seeds", "2", check=True, timeout=120)
    seeds = sorted(json.loads((p / "run.json").read_text())["params"]["seed"]
                   for p in project.run_paths("once"))
    assert seeds == [0, 1]
    refused = project.cli("run", "once", "--seeds", "0")
    assert refused.returncode == 2 and "--seeds 0 runs nothing" in refused.stderr
    assert len(project.run_paths("once")) == 2


def test_manifest_seeds_multiply_each_configuration() -> None:
    manifest = parse_manifest('[experiments.a]\ntask = "cnn"\nparams = { epochs = 1 }\n'
                              'sweep = { lr = [0.1, 0.01] }\nseeds = 2\n', path=Path("m.toml"))
    sets = manifest.experiments["a"].param_sets()
    assert [(s["lr"], s["seed"]) for s in sets] == [(0.1, 0), (0.1, 1), (0.01, 0), (0.01, 1)]
    # A run's own seed (a relaunch, --set seed=7) wins over the seeds count.
    assert [s["seed"] for s in manifest.experiments["a"].param_sets({"seed": [7]})] == [7, 7]


@pytest.mark.parametrize("task", sorted(BUILTIN_TASKS))
def test_every_builtin_task_takes_a_seed_setting(task: str) -> None:
    """The `seed` param reaches every built-in task: its config has a `seed` field that
    it seeds the generators with."""
    import dltui

    module = BUILTIN_TASKS[task]
    source = Path(dltui.__file__).parent.joinpath(*module.split(".")[1:]).with_suffix(".py")
    text = source.read_text()
    tree = ast.parse(text)
    fields = {node.target.id for node in ast.walk(tree)
              if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)}
    inherits = "CnnConfig" in text  # the demo task is the cnn task with other defaults
    assert "seed" in fields or inherits, f"{module} has no seed setting"
    seeding = source if not inherits else source.with_name("cnn.py")
    assert "seed_everything(cfg.seed)" in seeding.read_text() or \
        "manual_seed(cfg.seed)" in seeding.read_text()
