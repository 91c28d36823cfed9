"""Time one epoch of the cnn task's training loop against a plain PyTorch loop.

    .venv/bin/python bench/bench_cnn_epoch.py [--count 5000] [--repeats 3] [--threads 1]

Both train the same model (same initial weights) on the same tensors of the
embedded shapes set with batch 8 and SGD. The plain loop is the obvious one:
TensorDataset + DataLoader(shuffle=True), zero_grad, forward, NLLLoss,
backward, step, loss.item(). Epochs alternate between the two loops; the
best and median epochs of each are compared, in wall time and in CPU time of
this process (less disturbed by other work on a shared machine). Goal: the
task's loop within 1.1x of the plain one.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from dltui.data.shapes import load_shapes
from dltui.tasks.cnn import Net, Split, normalize, train_epoch


def plain_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, loader: DataLoader) -> float:
    criterion = nn.NLLLoss()
    model.train()
    total, batches = 0.0, 0
    for x, y in loader:
        optimizer.zero_grad()
        output = model(x)
        loss = criterion(output, y)
        loss.backward()
        optimizer.step()
        total += loss.item()
        batches += 1
    return total / batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=5000, help="training images")
    parser.add_argument("--repeats", type=int, default=3, help="epochs of each loop")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    shapes = load_shapes("train", count=args.count)
    images = torch.from_numpy(shapes.images).float().div(255).permute(0, 3, 1, 2).contiguous()
    splits = {"train": Split(images, torch.from_numpy(shapes.labels))}
    normalize(splits)
    data = splits["train"]

    start = Net(3)
    task_model, plain_model = copy.deepcopy(start), copy.deepcopy(start)
    task_opt = torch.optim.SGD(task_model.parameters(), lr=0.01)
    plain_opt = torch.optim.SGD(plain_model.parameters(), lr=0.01)
    loader = DataLoader(TensorDataset(data.images, data.labels), batch_size=args.batch_size,
                        shuffle=True)
    generator = torch.Generator().manual_seed(0)

    times: dict[str, dict[str, list[float]]] = {
        loop: {"wall": [], "cpu": []} for loop in ("task", "plain")}

    def timed(loop: str, epoch: Callable[[], object]) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        epoch()
        times[loop]["wall"].append(time.perf_counter() - wall)
        times[loop]["cpu"].append(time.process_time() - cpu)

    for _ in range(args.repeats):
        timed("task", lambda: train_epoch(task_model, task_opt, data, args.batch_size, generator))
        timed("plain", lambda: plain_epoch(plain_model, plain_opt, loader))

    steps = -(-len(data.labels) // args.batch_size)
    print(f"{len(data.labels)} images, batch {args.batch_size}, {steps} steps an epoch, "
          f"{args.threads} thread(s), {args.repeats} epochs each")
    for loop in ("task", "plain"):
        wall, cpu = times[loop]["wall"], times[loop]["cpu"]
        print(f"{loop:>5} loop: wall best {min(wall):.2f} s, "
              f"median {statistics.median(wall):.2f} s; CPU best {min(cpu):.2f} s "
              f"({min(cpu) / steps * 1e3:.2f} ms a step)")
    for kind in ("wall", "cpu"):
        task, plain = times["task"][kind], times["plain"][kind]
        print(f"ratio task/plain ({kind}): best {min(task) / min(plain):.3f}, "
              f"median {statistics.median(task) / statistics.median(plain):.3f}")


if __name__ == "__main__":
    main()
