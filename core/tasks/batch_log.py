"""The training loss every N batches, so a curve moves within an epoch.

Logged as `batch_loss` at a global batch step (batches since the run began, 1-based),
a series of its own: the per-epoch metrics keep their epoch steps, and each series'
steps only grow, so a resumed run logs none of them twice. The loss is summed on its
device and read back once every N batches, never a sync per batch.
"""

from __future__ import annotations

from typing import Any

BATCH_LOSS = "batch_loss"
LOG_EVERY = 25  # batches between two points, the default of every task's `log_every`


class BatchLoss:
    """Collects one epoch's batch losses; `add` after each batch."""

    def __init__(self, run: Any, *, every: int, batches_per_epoch: int, epoch: int) -> None:
        self.run = run
        self.every = every
        self.step = (epoch - 1) * batches_per_epoch
        self._sum: Any = 0.0
        self._count = 0

    def add(self, loss: Any) -> None:
        """One batch's loss (a tensor, detached here, or a float)."""
        self.step += 1
        if self.every <= 0:
            return
        self._sum = self._sum + (loss.detach() if hasattr(loss, "detach") else loss)
        self._count += 1
        if self._count >= self.every:
            self.run.log({BATCH_LOSS: float(self._sum) / self._count}, step=self.step)
            self._sum, self._count = 0.0, 0


def train_step(optimizer: Any, loss: Any, batch_log: BatchLoss | None = None) -> None:
    """One optimizer step on a batch's `loss` (gradients set to None first); the loss
    counts in `batch_log` when there is one."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    if batch_log is not None:
        batch_log.add(loss)


def batches(count: int, batch_size: int) -> int:
    """Batches in an epoch of `count` examples."""
    return max(1, -(-count // max(1, batch_size)))
