"""Pretrain a small ViT on the embedded shapes, as the frozen backbone of the head experiments.

    python -m dltui.tasks.pretrain_vit epochs=8 objective=mim+cls

DINO ViT-S/16 cannot be downloaded here, so the heads need a backbone of our
own whose patch tokens carry what a segmenter needs. The model is a ViT with
a small convolutional stem (`stem=patch` gives DINO's plain patchify, which
learns far slower from a few thousand images). Objectives, alone or summed:

- cls (the default): supervised classification of the image (its pair of
  shape kinds, 10 classes) from the mean of the final patch tokens
  (`pool=mean`), so every patch token gets a gradient; `pool=cls` uses the
  CLS token as ViT does.
- mim: SimMIM-style masked image modelling. A share of the patches is swapped
  for a learned mask token; a linear layer on each final patch token predicts
  that patch's normalised pixels, scored on the hidden patches only.

No masks are used: the segmentation labels stay unseen until the heads.
`data=shapes-large` pretrains on the large, overlapping shapes instead of
the plain scenes (same labels).

Logs per epoch: train_loss, lr; with cls, cls_loss and val_acc (the
classifier on clean validation images); with mim, mim_loss and val_mim_loss.
Saves artifacts/backbone.pt and artifacts/backbone.json (architecture and
input normalisation), which the seg-heads and retrieval tasks load.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dltui.data.shapes import CLASS_NAMES, load_shapes
from dltui.errors import UserError
from dltui.tasks.batch_log import LOG_EVERY, BatchLoss, batches, train_step
from dltui.tasks.checkpoint import Checkpoint
from dltui.tasks.config import pick_device, seed_everything
from dltui.tasks.harness import fail, shapes_cache, start_task
from dltui.tasks.vit import SmallViT, VitShape, cosine_warmup, save_backbone, to_input

OBJECTIVES = ("mim", "cls", "mim+cls")
DATA_VARIANTS = {"shapes": "plain", "shapes-large": "large"}


@dataclass
class Config(VitShape):
    """The backbone's architecture (a VitShape), then how it is pretrained."""

    pool: str = "mean"
    objective: str = "cls"
    data: str = "shapes"  # or "shapes-large": the large, overlapping shapes of seg-heads
    mask_ratio: float = 0.4
    train_count: int = 3000
    val_count: int = 500
    epochs: int = 6
    log_every: int = LOG_EVERY  # batches between two points of the batch loss; 0: none
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.05
    seed: int = 0


class Pretrainer(nn.Module):
    """The encoder plus the two throw-away heads of its objectives."""

    def __init__(self, shape: VitShape, classes: int) -> None:
        super().__init__()
        self.encoder = SmallViT(shape)
        self.pixels = nn.Linear(shape.dim, shape.patch_size ** 2 * 3)
        self.classify = nn.Linear(shape.dim, classes)


def patchify(x: torch.Tensor, p: int) -> torch.Tensor:
    """B x 3 x H x W as B x N x (p*p*3), patches in row-major order like the tokens."""
    b, c, h, w = x.shape
    x = x.reshape(b, c, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1)
    return x.reshape(b, (h // p) * (w // p), p * p * c)


def pooled(tokens: torch.Tensor, pool: str) -> torch.Tensor:
    """What the classifier sees: the CLS token, or the mean of the patch tokens."""
    return tokens[:, 1:].mean(1) if pool == "mean" else tokens[:, 0]


def losses(model: Pretrainer, x: torch.Tensor, labels: torch.Tensor, cfg: Config,
           generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(masked-pixel loss, classification loss) of one batch; zero where not in the objective."""
    n = (cfg.image_size // cfg.patch_size) ** 2
    zero = x.new_zeros(())
    hide = None
    if "mim" in cfg.objective:
        scores = torch.rand(len(x), n, generator=generator, device=x.device)
        hide = scores.argsort(dim=1).argsort(dim=1) < round(cfg.mask_ratio * n)
    tokens = model.encoder(x, hide)
    mim, cls = zero, zero
    if hide is not None:
        target = patchify(x, cfg.patch_size)
        err = F.smooth_l1_loss(model.pixels(tokens[:, 1:]), target, reduction="none").mean(-1)
        mim = (err * hide).sum() / hide.sum().clamp(min=1)
    if "cls" in cfg.objective:
        cls = F.cross_entropy(model.classify(pooled(tokens, cfg.pool)), labels)
    return mim, cls


def main() -> None:
    run, cfg = start_task(Config, "pretrain-vit")
    try:
        if cfg.objective not in OBJECTIVES:
            raise UserError(f"unknown objective {cfg.objective!r}",
                            fix=f"use one of {', '.join(OBJECTIVES)}")
        if cfg.pool not in ("mean", "cls"):
            raise UserError(f"unknown pool {cfg.pool!r}", fix='use pool = "mean" or "cls"')
        if cfg.data not in DATA_VARIANTS:
            raise UserError(f"unknown data {cfg.data!r}",
                            fix='use data = "shapes" or "shapes-large"')
    except UserError as err:
        fail(run, err)
    seed_everything(cfg.seed)
    device = pick_device()
    started = time.time()
    shape = VitShape(**{f.name: getattr(cfg, f.name) for f in fields(VitShape)})
    variant = DATA_VARIANTS[cfg.data]
    train = load_shapes("train", image_size=cfg.image_size, count=cfg.train_count,
                        cache_dir=shapes_cache(), variant=variant)
    val = load_shapes("val", image_size=cfg.image_size, count=cfg.val_count,
                      cache_dir=shapes_cache(), variant=variant)
    half = (0.5, 0.5, 0.5)
    x_train = to_input(train.images, half, half)
    x_val = to_input(val.images, half, half).to(device)
    y_train = torch.as_tensor(train.labels)
    y_val = torch.as_tensor(val.labels).to(device)

    model = Pretrainer(shape, len(CLASS_NAMES)).to(device)
    decay = [p for name, p in model.named_parameters() if p.ndim >= 2 and "token" not in name]
    rest = [p for name, p in model.named_parameters() if p.ndim < 2 or "token" in name]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": rest, "weight_decay": 0.0}], lr=cfg.lr)
    steps_per_epoch = (len(x_train) + cfg.batch_size - 1) // cfg.batch_size
    total = cfg.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: cosine_warmup(s, total, min(steps_per_epoch, total // 10 + 1)))
    val_gen = torch.Generator(device=device)
    checkpoint = Checkpoint(run)
    done, carried = checkpoint.resume(model=model, optimizer=opt, schedule=sched)
    values: dict[str, float] = carried.get("values", {})
    started -= carried.get("wall_s", 0.0)  # the time earlier attempts spent counts too
    print(f"pretrain-vit: {sum(p.numel() for p in model.encoder.parameters()):,} encoder "
          f"parameters, objective {cfg.objective}, {len(x_train)} images, {device}", flush=True)

    for epoch in range(done + 1, cfg.epochs + 1):
        model.train()
        order = torch.randperm(len(x_train))
        sums = np.zeros(3)
        batch_log = BatchLoss(run, every=cfg.log_every, epoch=epoch,
                              batches_per_epoch=batches(len(order), cfg.batch_size))
        for start in range(0, len(order), cfg.batch_size):
            idx = order[start:start + cfg.batch_size]
            x = x_train[idx].to(device)
            flip = torch.rand(len(x), device=device) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
            mim, cls = losses(model, x, y_train[idx].to(device), cfg, None)
            loss = mim + cls
            train_step(opt, loss, batch_log)
            sched.step()
            sums += np.array([loss.item(), mim.item(), cls.item()]) * len(idx)
        train_loss, mim_loss, cls_loss = sums / len(order)

        model.eval()
        val_gen.manual_seed(cfg.seed)
        with torch.no_grad():
            val_mim = 0.0
            correct = 0
            for start in range(0, len(x_val), 256):
                x, y = x_val[start:start + 256], y_val[start:start + 256]
                if "mim" in cfg.objective:
                    val_mim += losses(model, x, y, cfg, val_gen)[0].item() * len(x)
                logits = model.classify(pooled(model.encoder(x), cfg.pool))
                correct += int((logits.argmax(1) == y).sum())
        values = {"train_loss": train_loss, "lr": float(sched.get_last_lr()[0])}
        if "mim" in cfg.objective:
            values.update(mim_loss=mim_loss, val_mim_loss=val_mim / len(x_val))
        if "cls" in cfg.objective:
            values.update(cls_loss=cls_loss, val_acc=correct / len(x_val))
        run.log(values, step=epoch)
        run.progress(epoch, cfg.epochs)
        checkpoint.save(epoch, values=values, wall_s=time.time() - started)
        print(f"epoch {epoch}/{cfg.epochs} " + " ".join(f"{k} {v:.4f}" for k, v in
                                                         values.items()), flush=True)

    save_backbone(model.encoder.cpu(), run.artifacts_dir,
                  {"objective": cfg.objective, "config": asdict(cfg)})
    final: dict[str, float] = {k: values[k] for k in ("val_acc", "val_mim_loss") if k in values}
    run.summary.update({**final, "num_params": sum(p.numel() for p in model.encoder.parameters()),
                        "wall_s": round(time.time() - started, 1)})
    checkpoint.done()


if __name__ == "__main__":
    main()
