"""A quick first run: the report's CNN on a slice of the embedded shapes, in seconds.

    python -m dltui.tasks.demo

The cnn task with smaller defaults (2,500 training images, 3 epochs, lr 0.1);
it logs like the real thing: train_loss and val_acc per epoch, test_acc,
num_params, and the conv filters as images. Any cnn setting works here too.
"""

from __future__ import annotations

from dataclasses import dataclass

from dltui.tasks.cnn import CnnConfig, run_task


@dataclass
class DemoConfig(CnnConfig):
    epochs: int = 3
    lr: float = 0.1
    train_count: int = 2500
    val_count: int = 500
    test_count: int = 500


def main() -> None:
    run_task(DemoConfig, "demo")


if __name__ == "__main__":
    main()
