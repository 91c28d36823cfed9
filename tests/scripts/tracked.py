"""Reports through the tracking API and prints a decoy metric that must be ignored."""

import sys
import time

import dltui

run = dltui.init(params={"lr": 0.1, "epochs": 3, "delay": 0.05})
lr, epochs, delay = float(run.params["lr"]), int(run.params["epochs"]), float(run.params["delay"])
for epoch in range(1, epochs + 1):
    time.sleep(delay)
    run.log({"train_loss": 1 / (epoch * lr + 1), "val_acc": min(1.0, 0.5 + epoch * lr / 10)},
            step=epoch)
    run.progress(epoch, epochs)
    print(f"decoy=123 epoch {epoch}", flush=True)
run.summary["test_acc"] = 0.75
if run.params.get("fail"):
    sys.exit(3)
