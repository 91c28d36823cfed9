"""Holds MB of GPU memory for a few seconds: the GPU sampler must see it as the run's."""

import time

import torch

import dltui

run = dltui.init()
held = torch.ones(int(run.params["mb"]) << 18, device="cuda")  # 4-byte floats
for step in range(1, 5):
    held.mul_(1.0)
    torch.cuda.synchronize()
    time.sleep(float(run.params["seconds"]) / 4)
    run.log({"train_loss": 1.0 / step}, step=step)
