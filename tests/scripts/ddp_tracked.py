"""A DistributedDataParallel loop under torchrun (gloo): every rank logs and prints."""

import os

import torch
import torch.distributed as dist

import dltui

run = dltui.init(params={"epochs": 2})
dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
torch.manual_seed(0)
model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(4, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
data = torch.randn(16, 4)
for epoch in range(1, int(run.params["epochs"]) + 1):
    shard = data[rank::world]  # each rank its own part of the batch
    loss = model(shard).pow(2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    value = float(loss.detach())
    run.log({"loss": value, "world": world}, step=epoch)
    run.progress(epoch, int(run.params["epochs"]))
    print(f"epoch {epoch} loss={value:.4f} rank={rank} local={os.environ['LOCAL_RANK']}",
          flush=True)
run.summary["world"] = world
run.save_artifact(f"from-rank-{rank}.txt", "written")
dist.destroy_process_group()
