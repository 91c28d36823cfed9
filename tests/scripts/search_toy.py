"""A trial whose score is a known function of lr: best at lr = 0.01, worse by the square
of the distance in decades; logged each epoch, rising to the final score."""

import math
import sys
import time

import dltui

lr = float(sys.argv[1].partition("=")[2])
run = dltui.init(params={"epochs": 4, "delay": 0.1})
epochs, delay = int(run.params["epochs"]), float(run.params["delay"])
score = 1.0 - (math.log10(lr) + 2.0) ** 2 / 4.0
if run.params.get("fail_above") is not None and lr > float(run.params["fail_above"]):
    sys.exit(3)
for epoch in range(1, epochs + 1):
    time.sleep(delay)
    run.log({"score": score * epoch / epochs}, step=epoch)
    run.progress(epoch, epochs)
