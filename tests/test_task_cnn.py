"""The cnn and demo tasks: the model, its metrics, Fashion-MNIST files, and real smoke runs."""

from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from task_runs import metrics, only_run_dir, run_by_hand, run_launched

from dltui.data.fashion_mnist import load_fashion_mnist, split_indices
from dltui.errors import UserError
from dltui.tasks.cnn import LinearNet, Net, accuracy, count_parameters, filter_grid

ROOT = Path(__file__).resolve().parents[1]


def write_idx(path: Path, array: np.ndarray, *, packed: bool = True) -> None:
    """An IDX file as Fashion-MNIST ships it: magic 0x08 (ubyte), dims, big-endian sizes."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    header += b"".join(struct.pack(">I", d) for d in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    if packed:
        path.with_name(path.name + ".gz").write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)


def make_fashion(root: Path, train: int = 60, test: int = 24, packed: bool = True) -> None:
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", train), ("t10k", test)):
        labels = np.arange(n) % 10
        # Each class a bright band at its own row, so that a CNN can learn it in a step or two.
        images = rng.integers(0, 40, size=(n, 28, 28))
        for i, c in enumerate(labels):
            images[i, 2 + 2 * c:4 + 2 * c] = 250
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images, packed=packed)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels, packed=packed)








def test_net_matches_the_report() -> None:
    # conv 160 + conv 4,640 + fc 691,800 + 72,120 + 1,210 for one input channel.
    assert count_parameters(Net(1)) == 769_930
    assert count_parameters(Net(3)) == 769_930 + 2 * 16 * 9
    out = Net(3)(torch.rand(5, 3, 28, 28))
    assert out.shape == (5, 10)
    assert torch.allclose(out.exp().sum(1), torch.ones(5))  # log-probabilities


def test_linear_baseline() -> None:
    assert count_parameters(LinearNet(3)) == 3 * 28 * 28 * 10 + 10
    assert LinearNet(1)(torch.rand(4, 1, 28, 28)).shape == (4, 10)


def test_accuracy_by_hand() -> None:
    assert accuracy(torch.tensor([1, 2, 3, 4]), torch.tensor([1, 2, 0, 0])) == 0.5
    assert accuracy(torch.tensor([7, 7, 7]), torch.tensor([7, 1, 7])) == pytest.approx(2 / 3)
    assert accuracy(torch.tensor([], dtype=torch.long), torch.tensor([], dtype=torch.long)) == 0


def test_filter_grid_pictures() -> None:
    net = Net(3)
    first = filter_grid(net.conv1.weight, scale=16)
    second = filter_grid(net.conv2.weight, scale=8)
    assert first.dtype == np.uint8 and first.shape[2] == 3
    assert first.shape[:2] == (2 * 52 + 4, 8 * 52 + 4)  # 16 colour tiles of 48 px, 4 px gaps
    assert second.shape[:2] == (32 * 26 + 2, 16 * 26 + 2)  # a row per filter, a tile per input
    assert first.max() == 255 and first.min() == 0


def test_fashion_mnist_from_gz_files(tmp_path: Path) -> None:
    make_fashion(tmp_path, train=60, test=24)
    splits = load_fashion_mnist(tmp_path)
    assert splits.train[0].shape == (50, 28, 28) and splits.val[0].shape == (10, 28, 28)
    assert splits.test[0].shape == (24, 28, 28) and splits.test[1].dtype == np.int64
    train_idx, val_idx = split_indices(60)
    assert sorted([*train_idx, *val_idx]) == list(range(60))
    # The split the report drew: random_split(..., generator=manual_seed(42)).
    subsets = torch.utils.data.random_split(range(60), [50, 10],
                                            generator=torch.Generator().manual_seed(42))
    assert list(train_idx) == list(subsets[0].indices)
    assert list(splits.val[1]) == [i % 10 for i in val_idx]


def test_fashion_mnist_unpacked_files(tmp_path: Path) -> None:
    make_fashion(tmp_path, packed=False)
    assert load_fashion_mnist(tmp_path).test[0].shape == (24, 28, 28)


def test_fashion_mnist_missing_names_what_to_put_where(tmp_path: Path) -> None:
    with pytest.raises(UserError) as caught:
        load_fashion_mnist(tmp_path)
    message = caught.value.message
    assert str(tmp_path / "FashionMNIST" / "raw") in message
    assert "train-images-idx3-ubyte" in message and "download=true" in message
    with pytest.raises(UserError):
        load_fashion_mnist("")


def test_missing_data_exits_2_without_traceback(tmp_path: Path) -> None:
    done = run_by_hand("cnn", tmp_path / "runs", "data=fashion-mnist",
                       f"data_root={tmp_path / 'nowhere'}")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "FashionMNIST/raw" in done.stderr and "t10k-labels-idx1-ubyte" in done.stderr
    status = json.loads((only_run_dir(tmp_path / "runs", "cnn") / "status.json").read_text())
    assert status["exit_code"] == 2


@pytest.mark.slow
def test_cnn_smoke_run_on_shapes(tmp_path: Path) -> None:
    done = run_by_hand("cnn", tmp_path / "runs", "epochs=2", "train_count=200",
                       "val_count=50", "test_count=50", "lr=0.05")
    assert done.returncode == 0, done.stderr
    run_dir = only_run_dir(tmp_path / "runs", "cnn")
    rows = metrics(run_dir)
    epochs = [r for r in rows if "train_loss" in r]
    assert [r["step"] for r in epochs] == [1, 2]
    assert all(0 <= r["val_acc"] <= 1 and r["train_loss"] > 0 for r in epochs)
    assert any(r.get("_total") == 2 and r["step"] == 2 for r in rows)  # progress for the ETA
    assert any("test_acc" in r for r in rows)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["num_params"] == 770_218 and 0 <= summary["test_acc"] <= 1
    config = json.loads((run_dir / "artifacts" / "config.json").read_text())
    assert config["epochs"] == 2 and config["batch_size"] == 8 and config["lr"] == 0.05
    for name in ("conv1_filters", "conv2_filters"):
        png = (run_dir / "artifacts" / f"{name}.png").read_bytes()
        assert png.startswith(b"\x89PNG")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir / "tb"), size_guidance={"images": 0})
    events.Reload()
    tags = events.Tags()
    assert {"train_loss", "val_acc", "test_acc"} <= set(tags["scalars"])
    assert [e.step for e in events.Scalars("val_acc")] == [1, 2]
    assert {"conv1_filters", "conv2_filters"} <= set(tags["images"])
    image = events.Images("conv1_filters")[0]
    assert (image.width, image.height) == (8 * 52 + 4, 2 * 52 + 4)
    # The shapes split was cached under the runs dir for the next run.
    assert list((tmp_path / "runs" / ".cache" / "shapes").glob("*.npz"))


@pytest.mark.slow
def test_cnn_smoke_run_on_fashion_mnist_files(tmp_path: Path) -> None:
    make_fashion(tmp_path / "data", train=120, test=30)
    done = run_by_hand("cnn", tmp_path / "runs", "data=fashion-mnist",
                       f"data_root={tmp_path / 'data'}", "epochs=1")
    assert done.returncode == 0, done.stderr
    run_dir = only_run_dir(tmp_path / "runs", "cnn")
    assert "100 train, 20 val, 30 test" in done.stdout
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["num_params"] == 769_930


@pytest.mark.slow
def test_demo_smoke_run(tmp_path: Path) -> None:
    done = run_by_hand("demo", tmp_path / "runs", "epochs=1", "train_count=100")
    assert done.returncode == 0, done.stderr
    run_dir = only_run_dir(tmp_path / "runs", "demo")
    assert [r["step"] for r in metrics(run_dir) if "val_acc" in r] == [1]
    assert (run_dir / "artifacts" / "conv2_filters.png").is_file()
    assert "test_acc" in json.loads((run_dir / "summary.json").read_text())


def test_settings_of_the_wrong_type_or_name_fail_clearly(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    done = run_by_hand("cnn", runs, "epochs=many")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "setting epochs is 'many', not a whole number" in done.stderr
    assert "its default is 15" in done.stderr
    done = run_by_hand("cnn", runs, "epoch=3")
    assert done.returncode == 2 and "did you mean 'epochs'?" in done.stderr
    assert "Traceback" not in done.stderr
    # A launched run whose params say "2" for a number (a hand-edited run.json) still runs.
    done, run_dir = run_launched("cnn", "cnn", runs, {"epochs": "1", "lr": 1, "train_count":
                                                      "64", "val_count": 16, "test_count": 16},
                                 {})
    assert done.returncode == 0, done.stderr
    config = json.loads((run_dir / "artifacts" / "config.json").read_text())
    assert config["epochs"] == 1 and config["lr"] == 1.0 and isinstance(config["lr"], float)
    done, _ = run_launched("cnn", "cnn", runs, {"normalize": 1}, {})
    assert done.returncode == 2 and "setting normalize is 1, not true or false" in done.stderr
