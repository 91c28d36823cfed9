"""What real tools print, read through the run wrapper's capture (the log file, the reading
thread, the parser, the metrics writer): exact values at exact steps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dltui.store import rundir as rd
from dltui.tracking.capture import OutputCapture, StdoutMetrics


def captured(tmp_path: Path, output: str | bytes) -> list[tuple[int, dict[str, float]]]:
    """(step, values) of each record made from `output` as a child would print it."""
    spec = rd.RunSpec(run_id="r1", experiment="e", argv=[], params={}, cwd=str(tmp_path))
    run = rd.create_run_dir(tmp_path / "runs", spec, state=rd.RUNNING)
    metrics = StdoutMetrics(run)
    capture = OutputCapture(run.log_file)
    capture.start(metrics.feed)
    capture.file.write(output.encode() if isinstance(output, str) else output)
    capture.finish()
    metrics.close()
    if not run.metrics_file.exists():
        return []
    rows = [json.loads(x) for x in run.metrics_file.read_text().splitlines()]
    return [(r["step"], {k: v for k, v in r.items() if k not in ("step", "time")})
            for r in rows]


def values(records: list[tuple[int, dict[str, float]]]) -> list[tuple[int, dict[str, float]]]:
    """Records without progress-only keys."""
    out = []
    for step, found in records:
        kept = {k: v for k, v in found.items() if not k.startswith("_")}
        if kept:
            out.append((step, kept))
    return out


def test_pytorch_examples_mnist(tmp_path: Path) -> None:
    lines = [f"Train Epoch: {e} [{b * 128}/1280 ({b * 10}%)]\tLoss: {e / 10 + b / 100:.6f}"
             for e in (1, 2) for b in range(0, 10, 5)]
    lines.insert(2, "\nTest set: Average loss: 0.0001, Accuracy: 256/256 (100%)\n")
    lines.append("\nTest set: Average loss: 0.0002, Accuracy: 9,812/10,000 (98%)\n")
    assert values(captured(tmp_path, "\n".join(lines) + "\n")) == [
        (0, {"Loss": 0.1}), (640, {"Loss": 0.15}),
        (1280, {"test_average_loss": 0.0001, "test_accuracy": 1.0}),
        (1280, {"Loss": 0.2}), (1920, {"Loss": 0.25}),
        (2560, {"test_average_loss": 0.0002, "test_accuracy": 0.9812}),
    ]


def test_logging_styles_and_places_in_code(tmp_path: Path) -> None:
    out = "\n".join([
        "2024-05-01 10:00:01,123 - __main__ - INFO - epoch 1 loss=0.5",
        "2024-05-01 10:00:02,123 INFO train.py:35 epoch 2 loss: 0.4",
        "[2024-05-01 10:00:03] [INFO] [trainer.py:120] epoch 3 loss=0.3 lr=1e-3",
        "2024-05-01 10:00:04.000 | INFO     | __main__:main:35 - epoch 4 loss=0.2",
        "INFO:__main__:epoch 5 loss: 0.1",
    ]) + "\n"
    assert values(captured(tmp_path, out)) == [
        (1, {"loss": 0.5}), (2, {"loss": 0.4}), (3, {"loss": 0.3, "lr": 1e-3}),
        (4, {"loss": 0.2}), (5, {"loss": 0.1})]


def test_keras_2_lines(tmp_path: Path) -> None:
    out = ("Epoch 1/2\n"
           " 8/8 [==============================] - 0s 2ms/step - loss: 0.6931 - accuracy: "
           "0.5000 - val_loss: 0.6900 - val_accuracy: 0.5000\n"
           "Epoch 2/2\n"
           " 8/8 [==============================] - ETA: 0s - loss: 0.6500 - accuracy: 0.6250"
           " - val_loss: 0.6700 - val_accuracy: 0.5000\n")
    records = captured(tmp_path, out)
    assert values(records) == [
        (8, {"loss": 0.6931, "accuracy": 0.5, "val_loss": 0.69, "val_accuracy": 0.5}),
        (16, {"loss": 0.65, "accuracy": 0.625, "val_loss": 0.67, "val_accuracy": 0.5})]
    assert [f["_total"] for _, f in records if "_total" in f][-1] == 16


def test_hugging_face_banner_is_not_metrics(tmp_path: Path) -> None:
    banner = """[INFO|trainer.py:2310] 2024-05-01 10:00:00,000 >> ***** Running training *****
[INFO|trainer.py:2311] 2024-05-01 10:00:00,000 >>   Num examples = 256
[INFO|trainer.py:2312] 2024-05-01 10:00:00,000 >>   Num Epochs = 3
[INFO|trainer.py:2313] 2024-05-01 10:00:00,000 >>   Instantaneous batch size per device = 8
[INFO|trainer.py:2316] 2024-05-01 10:00:00,000 >>   Total optimization steps = 32
[INFO|trainer.py:2317] 2024-05-01 10:00:00,000 >>   Number of trainable parameters = 22,562
  Batch size = 16
GPU available: False, used: False
TPU available: False, using: 0 TPU cores
`Trainer.fit` stopped: `max_epochs=3` reached.
"""
    assert values(captured(tmp_path, banner)) == []


def test_quoted_and_json_logs_under_a_bar(tmp_path: Path) -> None:
    out = ("\r  0%|          | 0/8 [00:00<?, ?it/s]\r      \r"
           "{'loss': '0.6926', 'grad_norm': '0.2849', 'learning_rate': '0.0009063', "
           "'epoch': '0.25'}\n"
           "\r 25%|##5       | 2/8 [00:00<00:00, 20.1it/s]\r 50%|#####     | 4/8 [00:00<00:00]"
           "\r      \r"
           '{"loss": 0.61, "epoch": 0.5}\n'
           "\r 62%|######2   | 5/8 [00:00<00:00, 20.1it/s]\n")
    assert values(captured(tmp_path, out)) == [
        (2, {"loss": 0.6926, "grad_norm": 0.2849, "learning_rate": 0.0009063, "epoch": 0.25}),
        (5, {"loss": 0.61, "epoch": 0.5})]


def test_tqdm_redraws_collapse_to_one_record_a_step(tmp_path: Path) -> None:
    frames = []
    for epoch in (0, 1):
        for done in range(5):
            for redraw in range(3):  # the same position drawn three times
                val = f", val_loss={0.9 - epoch / 10:.2f}" if epoch else ""
                loss = 1 - epoch / 4 - done / 8 - redraw / 100
                frames.append(f"Epoch {epoch}: {done * 25}%|##| {done}/4 "
                              f"[00:00<00:00, 3.2it/s, loss={loss:.3f}{val}]")
    out = "\r".join(frames) + "\n"
    records = values(captured(tmp_path, out))
    # Epoch 1's 0/4 is epoch 0's 4/4: steps 0 to 8, one record each, a step's last frame.
    assert [step for step, _ in records] == [0, 1, 2, 3, 4, 5, 6, 7, 8]
    assert records[0] == (0, {"loss": 0.98})
    assert records[4] == (4, {"loss": 0.73, "val_loss": 0.8})
    assert records[8] == (8, {"loss": 0.23})
    assert sum("val_loss" in found for _, found in records) == 1  # carried, not repeated


def test_values_within_an_epoch_never_share_a_step(tmp_path: Path) -> None:
    out = "".join(f"epoch {e} loss={1 / (e + i + 1):.4f}\n" for e in (1, 2) for i in range(3))
    records = values(captured(tmp_path, out))
    steps = [step for step, _ in records]
    assert len(records) == 6 and steps == sorted(set(steps))


def test_binary_noise_is_never_metrics(tmp_path: Path) -> None:
    import random

    noise = random.Random(0).randbytes(2 << 20)
    noise += b"\nloss=0.5\n" + random.Random(1).randbytes(1 << 20) + b"\nacc: 0.75\n"
    records = values(captured(tmp_path, noise))
    assert records == [(0, {"loss": 0.5}), (1, {"acc": 0.75})]


@pytest.mark.parametrize(("line", "expected"), [
    ("step 3: loss 0.5 acc=0.25", {"acc": 0.25}),  # `loss 0.5` has no separator
    ("Validation loss: 0.5, train acc = 12,345", {"validation_loss": 0.5, "train_acc": 12345}),
    ("memory: 12.5 GB, took: 3 s", {"memory": 12.5, "took": 3.0}),
    ("eta: 1:23:45 done: 3/4", {"done": 0.75}),
    ("точность: 0.9 loss: 0.1", {"loss": 0.1}),
])
def test_names_and_values(tmp_path: Path, line: str, expected: dict[str, float]) -> None:
    (record,) = values(captured(tmp_path, line + "\n"))
    assert record[1] == pytest.approx(expected)


def test_output_written_before_the_reader_starts_is_read(tmp_path: Path) -> None:
    """The child shares the log's offset and may print before the reader thread starts."""
    spec = rd.RunSpec(run_id="r1", experiment="e", argv=[], params={}, cwd=str(tmp_path))
    run = rd.create_run_dir(tmp_path / "runs", spec, state=rd.RUNNING)
    run.log_file.write_text("an earlier attempt: loss=9\n")
    metrics = StdoutMetrics(run)
    capture = OutputCapture(run.log_file)
    capture.write("dltui: the run starts again\n")
    capture.file.write(b"epoch 1 loss=0.5\n")  # as the child, before start()
    capture.start(metrics.feed)
    capture.file.write(b"epoch 2 loss=0.25\n")
    capture.finish()
    metrics.close()
    rows = [json.loads(x) for x in run.metrics_file.read_text().splitlines()]
    assert [(r["step"], r["loss"]) for r in rows] == [(1, 0.5), (2, 0.25)]
