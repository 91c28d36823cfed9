"""The report's CNN classifier: a learning-rate sweep on shapes or Fashion-MNIST.

    python -m dltui.tasks.cnn                      # embedded shapes, lr 0.01
    python -m dltui.tasks.cnn lr=0.1 epochs=3
    python -m dltui.tasks.cnn data=fashion-mnist data_root=~/data
    python -m dltui.tasks.cnn model=linear         # the linear baseline

Model: conv in->16 3x3 pad 1, ReLU, max-pool 2; conv 16->32 3x3, ReLU,
max-pool 2; linear 1152->600, ReLU, dropout, 600->120, ReLU, 120->10;
log-softmax and NLL loss; plain SGD with batch 8.

Inputs are scaled to [0, 1], then (`normalize`, the default) standardised
with the training split's per-channel mean and std.

Logs per epoch `train_loss` (mean over the epoch's batches) and `val_acc`; at
the end `test_acc` (also in the summary with `num_params`), and images of the
first and second conv layers' filters (TensorBoard and artifacts/*.png).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from dltui.errors import UserError
from dltui.tasks.batch_log import LOG_EVERY, BatchLoss, batches, train_step
from dltui.tasks.checkpoint import Checkpoint
from dltui.tasks.config import pick_device, seed_everything
from dltui.tasks.harness import fail, shapes_cache, start_task

DATA_CHOICES = ("shapes", "fashion-mnist")
IMAGE_SIZE = 28
WORLD = int(os.environ.get("WORLD_SIZE", "1"))  # processes under torchrun: > 1 trains with DDP


@dataclass
class CnnConfig:
    data: str = "shapes"  # "shapes" (embedded) or "fashion-mnist" (needs data_root)
    model: str = "cnn"  # "cnn" (the report's) or "linear" (a baseline: one linear layer)
    data_root: str = ""  # the folder holding FashionMNIST/raw/
    download: bool = False  # let torchvision fetch Fashion-MNIST into data_root
    epochs: int = 15
    log_every: int = LOG_EVERY  # batches between two points of the batch loss; 0: none
    lr: float = 0.01
    batch_size: int = 8
    dropout: float = 0.3
    normalize: bool = True  # scale inputs by the training split's per-channel mean and std
    seed: int = 42
    # Torch CPU threads; at batch 8 more threads cost more than they give. 0 = all cores.
    # OMP_NUM_THREADS, when set, wins.
    threads: int = 1
    # 0 = the whole split; smaller counts make quick runs.
    train_count: int = 0
    val_count: int = 0
    test_count: int = 0


class Net(nn.Module):
    """The report's CNN for 28x28 images with `in_channels` channels."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, dropout: float = 0.3) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3)
        self.fc1 = nn.Linear(32 * 6 * 6, 600)
        self.drop = nn.Dropout(dropout)
        self.fc2 = nn.Linear(600, 120)
        self.fc3 = nn.Linear(120, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = self.drop(F.relu(self.fc1(x.flatten(1))))
        x = F.relu(self.fc2(x))
        return F.log_softmax(self.fc3(x), dim=1)


class LinearNet(nn.Module):
    """A baseline: log-softmax of one linear layer on the pixels."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10) -> None:
        super().__init__()
        self.fc = nn.Linear(in_channels * IMAGE_SIZE * IMAGE_SIZE, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.log_softmax(self.fc(x.flatten(1)), dim=1)


@dataclass
class Split:
    images: torch.Tensor  # N x C x 28 x 28 float in [0, 1]
    labels: torch.Tensor  # N int64


def _to_split(images: np.ndarray, labels: np.ndarray, count: int, device: Any) -> Split:
    if count:
        images, labels = images[:count], labels[:count]
    x = torch.from_numpy(np.ascontiguousarray(images)).float().div_(255)
    x = x.unsqueeze(1) if x.dim() == 3 else x.permute(0, 3, 1, 2).contiguous()
    return Split(x.to(device), torch.from_numpy(labels).long().to(device))


def load_data(cfg: CnnConfig, device: Any) -> dict[str, Split]:
    """Train, val and test splits as tensors on `device`; UserError when the data is missing."""
    counts = {"train": cfg.train_count, "val": cfg.val_count, "test": cfg.test_count}
    if cfg.data == "shapes":
        from dltui.data.shapes import load_shapes

        out = {}
        for name, count in counts.items():
            part = load_shapes(name, image_size=IMAGE_SIZE, count=count or None,
                               cache_dir=shapes_cache())
            out[name] = _to_split(part.images, part.labels, 0, device)
        return out
    if cfg.data == "fashion-mnist":
        from dltui.data.fashion_mnist import load_fashion_mnist

        splits = load_fashion_mnist(cfg.data_root, download=cfg.download)
        return {name: _to_split(getattr(splits, name)[0], getattr(splits, name)[1], count, device)
                for name, count in counts.items()}
    raise UserError(f"unknown data {cfg.data!r}",
                    fix=f"use data = one of {', '.join(DATA_CHOICES)}")


def normalize(splits: dict[str, Split]) -> None:
    """Standardise every split in place with the training split's per-channel statistics."""
    train = splits["train"].images
    mean = train.mean(dim=(0, 2, 3), keepdim=True)
    std = train.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-6)
    for split in splits.values():
        split.images.sub_(mean).div_(std)


def train_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, data: Split,
                batch_size: int, generator: torch.Generator,
                batch_log: BatchLoss | None = None) -> float:
    """One pass over `data` in shuffled batches; the mean of the batch losses."""
    model.train()
    # One gather an epoch; each batch is then a view, with no per-step indexing.
    order = torch.randperm(len(data.labels), generator=generator).to(data.labels.device)
    if WORLD > 1:  # this rank's share, equal on every rank: DDP steps them in lockstep
        order = order[:len(order) // WORLD * WORLD][dist.get_rank()::WORLD]
    images, labels = data.images[order], data.labels[order]
    total = torch.zeros((), device=labels.device)
    steps = 0
    for start in range(0, len(labels), batch_size):
        loss = F.nll_loss(model(images[start:start + batch_size]),
                          labels[start:start + batch_size])
        train_step(optimizer, loss, batch_log)
        total += loss.detach()
        steps += 1
    if WORLD > 1:  # the mean over every rank's batches
        dist.all_reduce(total)
        total /= WORLD
    return float(total) / max(steps, 1)


@torch.inference_mode()
def predict(model: nn.Module, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    model.eval()
    return torch.cat([model(images[i:i + batch_size]).argmax(1)
                      for i in range(0, len(images), batch_size)])


def accuracy(predicted: torch.Tensor, labels: torch.Tensor) -> float:
    """The fraction of predictions equal to their label (0.0 for no predictions)."""
    return float((predicted == labels).float().mean()) if len(labels) else 0.0


def filter_grid(weights: torch.Tensor, scale: int, columns: int | None = None) -> np.ndarray:
    """An H x W x 3 uint8 picture of conv filters (out x in x k x k), each scaled to 0..255.

    Three input channels draw each filter as one colour tile; otherwise every
    (filter, input channel) kernel is a grey tile: a row per filter.
    """
    w = weights.detach().float().cpu()
    if w.shape[1] == 3:
        tiles = w  # out x 3 x k x k
        columns = columns or 8
    else:
        tiles = w.reshape(-1, 1, w.shape[2], w.shape[3]).expand(-1, 3, -1, -1)
        columns = columns or w.shape[1]
    low = tiles.amin(dim=(1, 2, 3), keepdim=True)
    high = tiles.amax(dim=(1, 2, 3), keepdim=True)
    tiles = (tiles - low) / (high - low).clamp_min(1e-8)
    k, gap = w.shape[2] * scale, max(1, scale // 4)
    rows = -(-len(tiles) // columns)
    grid = np.full((rows * (k + gap) + gap, columns * (k + gap) + gap, 3), 40, np.uint8)
    pixels = (tiles * 255).round().byte().permute(0, 2, 3, 1).numpy()
    pixels = pixels.repeat(scale, axis=1).repeat(scale, axis=2)
    for i, tile in enumerate(pixels):
        r, c = divmod(i, columns)
        grid[gap + r * (k + gap):gap + r * (k + gap) + k,
             gap + c * (k + gap):gap + c * (k + gap) + k] = tile
    return grid


def cpu_threads(device: Any, threads: int) -> None:
    """Use `threads` CPU threads unless OMP_NUM_THREADS says otherwise (0: leave as is)."""
    if device.type == "cpu" and threads > 0 and not os.environ.get("OMP_NUM_THREADS"):
        torch.set_num_threads(threads)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def run_task(cls: type[CnnConfig], experiment: str) -> None:
    """Train and test the CNN with settings from `cls` (the cnn and demo tasks)."""
    run, cfg = start_task(cls, experiment)
    try:
        if cfg.batch_size < 1 or cfg.epochs < 0:
            raise UserError("batch_size must be at least 1 and epochs not negative",
                            fix="pass batch_size=8 epochs=15 or other positive numbers")
        if cfg.model not in ("cnn", "linear"):
            raise UserError(f"unknown model {cfg.model!r}", fix='use model = "cnn" or "linear"')
        device = pick_device()
        cpu_threads(device, cfg.threads)
        if WORLD > 1:  # one process per GPU (or CPU share); gradients averaged across them
            if device.type == "cuda":
                torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        data = load_data(cfg, device)
    except UserError as err:
        fail(run, err)
    if cfg.normalize:
        normalize(data)
    seed_everything(cfg.seed)
    generator = torch.Generator().manual_seed(cfg.seed)
    channels = data["train"].images.shape[1]
    model = (Net(channels, 10, cfg.dropout) if cfg.model == "cnn" else LinearNet(channels, 10))
    model = model.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr)
    checkpoint = Checkpoint(run)
    # Before DDP, which copies rank 0's weights to the others.
    done, _ = checkpoint.resume(model=model, optimizer=optimizer, generator=generator)
    trained = nn.parallel.DistributedDataParallel(model) if WORLD > 1 else model
    run.summary["num_params"] = count_parameters(model)
    print(f"{cfg.data}: {len(data['train'].labels)} train, {len(data['val'].labels)} val, "
          f"{len(data['test'].labels)} test; {run.summary['num_params']:,} parameters "
          f"on {device}", flush=True)
    run.progress(done, cfg.epochs)
    for epoch in range(done + 1, cfg.epochs + 1):
        started = time.perf_counter()
        per_epoch = batches(len(data["train"].labels) // WORLD, cfg.batch_size)
        batch_log = BatchLoss(run, every=cfg.log_every, batches_per_epoch=per_epoch, epoch=epoch)
        train_loss = train_epoch(trained, optimizer, data["train"], cfg.batch_size, generator,
                                 batch_log)
        val_acc = accuracy(predict(model, data["val"].images), data["val"].labels)
        run.log({"train_loss": train_loss, "val_acc": val_acc}, step=epoch)
        run.progress(epoch, cfg.epochs)
        checkpoint.save(epoch)
        print(f"epoch {epoch}/{cfg.epochs}  train_loss {train_loss:.4f}  val_acc {val_acc:.4f}  "
              f"({time.perf_counter() - started:.1f}s)", flush=True)
    test_acc = accuracy(predict(model, data["test"].images), data["test"].labels)
    run.log({"test_acc": test_acc}, step=cfg.epochs)
    run.summary["test_acc"] = test_acc
    print(f"test_acc {test_acc:.4f}", flush=True)
    if isinstance(model, Net):
        run.log_image("conv1_filters", filter_grid(model.conv1.weight, scale=16),
                      step=cfg.epochs)
        run.log_image("conv2_filters", filter_grid(model.conv2.weight, scale=8),
                      step=cfg.epochs)
    checkpoint.done()
    if WORLD > 1:
        dist.destroy_process_group()
    run.finish()


def main() -> None:
    run_task(CnnConfig, "cnn")


if __name__ == "__main__":
    main()
