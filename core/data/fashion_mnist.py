"""Fashion-MNIST from torchvision's files on disk, split as the report did.

The training file gives 50,000 training and 10,000 validation images (a
random split with seed 42, as `torch.utils.data.random_split` draws it); the
test file is the test set. Nothing is downloaded unless `download=True`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dltui.errors import UserError

CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
RAW_FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
SPLIT_SEED = 42
VAL_FRACTION = 1 / 6  # 10,000 of the 60,000 training images


@dataclass
class FashionSplits:
    """Images N x 28 x 28 uint8 and labels N int64 of each split."""

    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]


def raw_folder(root: Path) -> Path:
    """Where torchvision looks for the files: ROOT/FashionMNIST/raw."""
    return Path(root).expanduser() / "FashionMNIST" / "raw"


def load_fashion_mnist(root: str | Path, *, download: bool = False) -> FashionSplits:
    """The three splits from `root` (torchvision layout); a UserError names what is missing."""
    if not str(root):
        raise UserError("data = \"fashion-mnist\" needs a data_root",
                        fix="pass data_root=/path/to/folder, the folder that holds "
                            "FashionMNIST/raw/ (torchvision's layout)")
    raw = raw_folder(Path(root))
    if not download:
        _unpack_gz(raw)
        missing = [name for name in RAW_FILES if not (raw / name).is_file()]
        if missing:
            raise UserError(
                f"Fashion-MNIST is not in {raw}: missing {', '.join(missing)}",
                fix=f"put the four files {', '.join(n + '.gz' for n in RAW_FILES)} "
                    f"(or unpacked) in {raw}, or pass download=true on a machine with network "
                    "access")
    from torchvision.datasets import FashionMNIST

    try:
        train_file = FashionMNIST(str(Path(root).expanduser()), train=True, download=download)
        test_file = FashionMNIST(str(Path(root).expanduser()), train=False, download=download)
    except (RuntimeError, OSError) as err:
        raise UserError(f"could not read Fashion-MNIST from {raw}: {err}",
                        fix=f"put the four IDX files in {raw}") from err
    images = train_file.data.numpy()
    labels = train_file.targets.numpy().astype(np.int64)
    train_idx, val_idx = split_indices(len(labels))
    return FashionSplits(train=(images[train_idx], labels[train_idx]),
                         val=(images[val_idx], labels[val_idx]),
                         test=(test_file.data.numpy(),
                               test_file.targets.numpy().astype(np.int64)))


def split_indices(n: int, seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation indices: `random_split(range(n), [n - v, v], seed)`."""
    import torch

    val = round(n * VAL_FRACTION)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).numpy()
    return order[:n - val], order[n - val:]


def _unpack_gz(raw: Path) -> None:
    """Unpack `NAME.gz` next to it where only the .gz is there, as torchvision's download does."""
    import gzip
    import os
    import shutil
    import tempfile

    for name in RAW_FILES:
        packed, target = raw / f"{name}.gz", raw / name
        if target.is_file() or not packed.is_file():
            continue
        try:
            fd, tmp = tempfile.mkstemp(dir=raw, prefix=f".{name}.", suffix=".tmp")
        except OSError as err:
            raise UserError(f"could not unpack {packed}: {err}",
                            fix=f"unpack it yourself: gunzip -k {packed}") from err
        try:
            with gzip.open(packed, "rb") as src, os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(src, out)
            os.replace(tmp, target)
        except OSError as err:
            Path(tmp).unlink(missing_ok=True)
            raise UserError(f"could not unpack {packed}: {err}",
                            fix=f"unpack it yourself: gunzip -k {packed}") from err
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
