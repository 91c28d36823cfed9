"""Export to MLflow, W&B (offline) and TensorBoard, read back by each tool itself; import
of torch SummaryWriter folders and Lightning CSVLogger folders, equal to the source."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from wandb_records import read_records

from conftest import Project, script

PY = sys.executable


def tracked_run(project: Project) -> Path:
    project.write(f"""
[experiments.tracked]
command = ["{PY}", "{script('tracked.py')}"]
params = {{ lr = 0.1, epochs = 3, delay = 0.01, fail = false }}
metric = "val_acc"
mode = "max"
tags = ["baseline"]
""")
    project.cli("run", "tracked", check=True)
    (path,) = project.run_paths("tracked")
    (path / "annotations.json").write_text(json.dumps({"tags": ["baseline", "keep"],
                                                       "note": "the first try"}))
    return path


def logged(path: Path) -> dict[str, list[tuple[int, float]]]:
    """{metric: [(step, value)]} of a run's metrics.jsonl."""
    out: dict[str, list[tuple[int, float]]] = {}
    for line in (path / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        for key, value in record.items():
            if key not in ("step", "time") and not key.startswith("_"):
                out.setdefault(key, []).append((record["step"], value))
    return out


def test_export_to_mlflow_reads_back_with_mlflows_client(project: Project) -> None:
    from mlflow.tracking import MlflowClient

    path = tracked_run(project)
    store = project.root / "mlflow.db"
    done = project.cli("export", "tracked", "--to", "mlflow", "--dest", str(store), check=True)
    assert f"look: mlflow ui --backend-store-uri sqlite:///{store}" in done.stdout
    client = MlflowClient(tracking_uri=f"sqlite:///{store}")
    experiment = client.get_experiment_by_name("tracked")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.run_name == path.name and run.info.status == "FINISHED"
    assert run.data.params == {"lr": "0.1", "epochs": "3", "delay": "0.01", "fail": "false"}
    for name, points in logged(path).items():
        history = client.get_metric_history(run.info.run_id, name)
        assert [(m.step, m.value) for m in history] == points
    assert run.data.metrics["test_acc"] == 0.75  # the summary
    tags = run.data.tags
    assert tags["mlflow.note.content"] == "the first try"
    assert tags["dltui.tags"] == "baseline,keep" and tags["dltui.run_id"] == path.name
    again = project.cli("export", path.name, "--to", "mlflow", "--dest", str(store), check=True)
    assert "already in MLflow" in again.stdout
    assert len(client.search_runs([experiment.experiment_id])) == 1


def test_export_to_wandb_offline_reads_back_from_its_run_file(project: Project) -> None:
    path = tracked_run(project)
    done = project.cli("export", "tracked", "--to", "wandb", "--dest", str(project.root / "wb"),
                       check=True)
    assert "upload: wandb sync " in done.stdout
    (run_file,) = (project.root / "wb" / "wandb").glob("offline-run-*/run-*.wandb")
    records = read_records(run_file)
    kinds: dict[str, list[Any]] = {}
    for record in records:
        kinds.setdefault(record.WhichOneof("record_type"), []).append(record)
    (run,) = [r.run for r in kinds["run"]]
    assert run.project == "tracked" and run.display_name == path.name
    assert list(run.tags) == ["baseline", "keep"] and run.notes == "the first try"
    config = {u.key: json.loads(u.value_json) for u in run.config.update}
    assert config["lr"] == 0.1 and config["epochs"] == 3
    rows = []
    for record in kinds["history"]:
        row = {"/".join(item.nested_key) or item.key: json.loads(item.value_json)
               for item in record.history.item}
        rows.append(row)
    for name, points in logged(path).items():
        assert [(r["_step"], r[name]) for r in rows if name in r] == points
    first = json.loads((path / "metrics.jsonl").read_text().splitlines()[0])
    assert rows[0]["_timestamp"] == first["time"]  # when it was logged, not exported
    summary = {"/".join(u.nested_key) or u.key: json.loads(u.value_json)
               for r in kinds["summary"] for u in r.summary.update}
    assert summary["test_acc"] == 0.75 and summary["dltui_state"] == "succeeded"


def test_export_to_tensorboard_reads_back_with_its_loader(project: Project) -> None:
    path = tracked_run(project)
    out = project.root / "tb-out"
    project.cli("export", "tracked", "--to", "tensorboard", "--dest", str(out), check=True)
    acc = EventAccumulator(str(out / "tracked" / path.name))
    acc.Reload()
    for name, points in logged(path).items():
        events = acc.Scalars(name)  # float32 in the file
        assert [e.step for e in events] == [step for step, _ in points]
        assert [e.value for e in events] == pytest.approx([value for _, value in points])
    assert acc.Scalars("summary/test_acc")[0].value == 0.75
    assert "dltui/run" in acc.Tags()["tensors"]


def test_a_missing_tracker_is_one_line_with_the_install_command(project: Project) -> None:
    tracked_run(project)
    shadow = project.root / "shadow"
    shadow.mkdir()
    (shadow / "mlflow.py").write_text("raise ImportError('not here')\n")
    done = project.cli("export", "tracked", "--to", "mlflow",
                       env=project.env(PYTHONPATH=str(shadow)))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[0] == (
        "error: dltui export --to mlflow needs MLflow, which is not installed")
    assert "pip install 'dltui[mlflow]'" in done.stderr
    bad = project.cli("export", "tracked", "--to", "neptune")
    assert bad.returncode == 2 and "use --to mlflow, wandb, tensorboard" in bad.stderr


def test_import_of_a_summary_writer_folder_equals_the_source(project: Project) -> None:
    from torch.utils.tensorboard import SummaryWriter

    source = project.root / "old" / "lr0.1"
    writer = SummaryWriter(str(source))
    for step in range(5):
        writer.add_scalar("loss", 1.0 / (step + 1), step)
        writer.add_scalar("acc", 0.5 + step / 10, step)
    writer.add_hparams({"lr": 0.1, "batch": 8, "opt": "sgd"}, {"hp/final_acc": 0.9})
    writer.close()
    done = project.cli("import", str(project.root / "old"), "--experiment", "legacy",
                       check=True)
    assert "1 run imported" in done.stdout
    (path,) = project.run_paths("legacy")
    expected = EventAccumulator(str(source))
    expected.Reload()
    got = logged(path)
    for tag in ("loss", "acc"):
        assert got[tag] == [(e.step, e.value) for e in expected.Scalars(tag)]
    ((hp_step, hp_value),) = got["hp/final_acc"]  # add_hparams' metric, float32 on disk
    assert hp_step == 0 and hp_value == pytest.approx(0.9)
    spec = json.loads((path / "run.json").read_text())
    assert spec["params"] == {"lr": 0.1, "batch": 8, "opt": "sgd"}
    status = json.loads((path / "status.json").read_text())
    assert status["state"] == "succeeded" and status["imported_from"] == str(source)
    assert json.loads((path / "summary.json").read_text())["loss"] == got["loss"][-1][1]
    table = project.cli("compare", "legacy", "--format", "csv", check=True).stdout
    assert table.splitlines()[0].startswith("run,") and "succeeded" in table
    from dltui.bridges.tensorboard import tensorboard_argv
    from dltui.store.runs import RunStore

    tensorboard_argv(RunStore(project.runs).runs("legacy"))  # nothing to catch up on
    copied = EventAccumulator(str(path / "tb"))  # `dltui tb` shows the very events
    copied.Reload()
    assert [e.value for e in copied.Scalars("loss")] == [e.value for e in
                                                         expected.Scalars("loss")]


def test_import_of_a_lightning_csv_logger_folder_equals_the_source(project: Project) -> None:
    from lightning.pytorch.loggers import CSVLogger

    logger = CSVLogger(str(project.root / "lit"), name="model")
    logger.log_hyperparams({"lr": 0.01, "hidden": 64})
    for step in range(6):
        logger.log_metrics({"train_loss": 2.0 / (step + 1)}, step=step)
        if step % 2 == 1:
            logger.log_metrics({"val_acc": 0.6 + step / 100, "epoch": step // 2}, step=step)
    logger.save()
    logger.finalize("success")
    csv_path = Path(logger.log_dir) / "metrics.csv"
    done = project.cli("import", str(project.root / "lit"), "--experiment", "lit", check=True)
    assert "lightning-csv" in done.stdout
    (path,) = project.run_paths("lit")
    expected: dict[str, list[tuple[int, float]]] = {}
    with open(csv_path, newline="") as src:
        for row in csv.DictReader(src):
            for column, cell in row.items():
                if column != "step" and cell:
                    expected.setdefault(column, []).append((int(row["step"]), float(cell)))
    assert logged(path) == expected and set(expected) == {"train_loss", "val_acc", "epoch"}
    spec = json.loads((path / "run.json").read_text())
    assert spec["params"] == {"lr": 0.01, "hidden": 64}
    assert json.loads((path / "status.json").read_text())["state"] == "succeeded"
    events = EventAccumulator(str(path / "tb"), size_guidance={"scalars": 0})
    events.Reload()  # made from the imported stream, as for any run
    assert {tag: [(e.step, e.value) for e in events.Scalars(tag)]
            for tag in events.Tags()["scalars"]} == {
        tag: [(step, pytest.approx(value)) for step, value in points]
        for tag, points in expected.items()}


def test_import_of_nothing_says_what_to_give(project: Project) -> None:
    (project.root / "empty").mkdir()
    done = project.cli("import", str(project.root / "empty"), "--experiment", "x")
    assert done.returncode == 2 and "no TensorBoard event files" in done.stderr
    bad = project.cli("import", str(project.root / "empty"), "--experiment", "../up")
    assert bad.returncode == 2 and "cannot be a directory name" in bad.stderr
