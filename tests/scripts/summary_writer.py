"""An untouched script that logs with TensorBoard's SummaryWriter (`torch` or
`tensorboardX` as the first argument) into ./script_tb, and prints nothing of it."""

import math
import sys

if len(sys.argv) > 1 and sys.argv[1] == "tensorboardX":
    from tensorboardX import SummaryWriter
else:
    from torch.utils.tensorboard import SummaryWriter

writer = SummaryWriter("script_tb")
for step in range(10):
    writer.add_scalar("loss", math.exp(-step / 4), step)
    if step % 3 == 2:
        writer.add_scalars("acc", {"train": 0.5 + step / 40, "val": 0.4 + step / 50}, step)
writer.add_scalar("final/lr", 0.001)  # no step: TensorBoard records it at step 0
writer.close()
print("done")
