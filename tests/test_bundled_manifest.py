"""The bundled experiments.toml: valid, complete, and its demo runs as the README says."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dltui.manifest import load_manifest
from dltui.tasks import BUILTIN_TASKS

BUNDLED = Path(__file__).resolve().parent.parent / "experiments.toml"
REPORTS = {"cnn-lr", "caption-attention", "pretrain-vit", "seg-heads", "blip-train",
           "blip-caption", "retrieval", "retrieval-finetune"}


def dltui(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dltui.tui.program", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_every_experiment_of_both_reports_is_there() -> None:
    manifest = load_manifest(BUNDLED)
    assert set(manifest.experiments) >= REPORTS
    for exp in manifest.experiments.values():
        assert exp.task in BUILTIN_TASKS and exp.metric and exp.description
    assert manifest.experiments["cnn-lr"].sweep == {"lr": [0.1, 0.01, 0.001]}
    assert manifest.experiments["caption-attention"].sweep == {"attention": [False, True]}
    assert manifest.experiments["seg-heads"].sweep["head"] == [
        "linear", "conv", "transformer", "transformer-shared-qk"]
    assert manifest.experiments["retrieval"].sweep == {"temperature": [0.5, 0.3, 0.2, 0.1]}
    assert manifest.closure(["seg-heads"]) == ["pretrain-vit", "seg-heads"]
    assert manifest.closure(["retrieval-finetune"]) == [
        "pretrain-vit", "retrieval", "retrieval-finetune"]
    assert manifest.closure(["blip-caption"]) == ["blip-train", "blip-caption"]


@pytest.mark.parametrize(("model", "total"), [("cnn-q1", "10,298"), ("mlp-q1", "236,310")])
def test_report_b_parameter_counts(model: str, total: str) -> None:
    done = dltui("params", "--model", model, "--manifest", str(BUNDLED), cwd=BUNDLED.parent)
    assert done.returncode == 0, done.stderr
    assert f"total parameters: {total}" in done.stdout
    if model == "cnn-q1":
        assert "5*5*3*8 + 8 = 608" in done.stdout and "968*10 + 10 = 9,690" in done.stdout


def test_built_in_models_count(tmp_path: Path) -> None:
    done = dltui("params", "--experiment", "seg-heads", "--format", "json",
                 "--manifest", str(BUNDLED), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    reports = json.loads(done.stdout)
    assert [r["model"] for r in reports] == [f'seg-heads head="{h}"' for h in (
        "linear", "conv", "transformer", "transformer-shared-qk")]
    assert reports[0]["total"] == 485  # C*K + K: a 1x1 conv from 96 channels to 5 classes
    done = dltui("params", "--experiment", "cnn-lr", "--manifest", str(BUNDLED), cwd=tmp_path)
    assert "770,218" in done.stdout  # the report's CNN on 3 channels, as the task builds it


@pytest.mark.slow
def test_demo_runs_from_the_bundled_manifest(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    done = dltui("run", "demo", "--set", "epochs=1", "--set", "train_count=200",
                 "--manifest", str(BUNDLED), "--runs", str(runs), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "done   demo/" in done.stdout
    table = dltui("compare", "demo", "--format", "json", "--manifest", str(BUNDLED),
                  "--runs", str(runs), cwd=tmp_path)
    (row,) = json.loads(table.stdout)
    assert row["status"] == "succeeded" and 0 <= row["last:val_acc"] <= 1
