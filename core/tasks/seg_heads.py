"""Train a segmentation head on a frozen ViT's patch tokens and score it by mIoU.

    python -m dltui.tasks.seg_heads head=transformer backbone_run=runs/pretrain-vit/<id>

The backbone is the pretrain-vit run this one needs (run.needs, or
`backbone_run=` by hand), or DINO ViT-S/16 from the local Hugging Face cache
with `backbone=dino-vits16` (`backbone_path=` for a saved copy). It runs once,
without gradients, over every image; its patch maps are kept for all epochs.

Heads (see heads.py): linear, conv, transformer, transformer-shared-qk. Logits
are upsampled bilinearly to the input size. AdamW, polynomial LR decay,
cross-entropy ignoring label 255. `data=shapes-large` has large,
overlapping shapes whose class a patch's neighbourhood does not decide (the
bundled manifest's choice, see dltui.data.shapes_variants); `data=voc`
reads PASCAL VOC 2012 from `data_root` (torchvision's layout).

Logs per epoch: train_loss, val_miou, lr. At the end: iou/<class>; summary
val_miou, best_val_miou, num_params (the head's); artifacts per_class_iou.md,
per_class_iou.json, head.pt and predictions.png.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from dltui.errors import UserError
from dltui.tasks.batch_log import LOG_EVERY, BatchLoss, batches, train_step
from dltui.tasks.checkpoint import Checkpoint
from dltui.tasks.config import pick_device, seed_everything
from dltui.tasks.harness import fail, shapes_cache, start_task
from dltui.tasks.heads import HEADS, count_parameters, head_parameter_formula, make_head
from dltui.tasks.seg_data import SegSplit, load_shapes_split, load_voc_split, prediction_strip
from dltui.tasks.seg_metrics import IGNORE_INDEX, IoUCounter
from dltui.tasks.vit import FrozenBackbone, load_backbone


@dataclass
class Config:
    head: str = "linear"
    backbone: str = "pretrain-vit"
    backbone_run: str = ""
    backbone_path: str = ""
    data: str = "shapes"
    data_root: str = "data/voc"
    image_size: int = 0  # 0: the backbone's own (32 for pretrain-vit, 224 for DINO)
    train_count: int = 2000
    val_count: int = 500
    epochs: int = 12
    log_every: int = LOG_EVERY  # batches between two points of the batch loss; 0: none
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-3
    poly_power: float = 0.9
    conv_hidden: int = 64
    conv_upsample: bool = True
    attn_heads: int = 4
    seed: int = 0


SHAPES_DATA = {"shapes": "plain", "shapes-large": "large"}


def at_resolution(backbone: FrozenBackbone, image_size: int) -> None:
    """Make a pretrain-vit backbone take image_size px images: a finer grid of patches.

    The position embeddings of the patches are resized bicubically to the new
    grid (the CLS one is kept), as DINO's are when it segments images larger
    than it was trained on.
    """
    if image_size % backbone.patch_size:
        raise UserError(f"image_size={image_size} is not a multiple of the backbone's "
                        f"{backbone.patch_size}px patches",
                        fix=f"use a multiple of {backbone.patch_size}, or 0 for its own size")
    encoder = backbone.encoder
    pos: torch.Tensor = encoder.pos_embed.data  # type: ignore[assignment]
    old, dim = round((pos.shape[1] - 1) ** 0.5), pos.shape[2]
    new = image_size // backbone.patch_size
    grid = pos[:, 1:].reshape(1, old, old, dim).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=(new, new), mode="bicubic", align_corners=False)
    encoder.pos_embed = torch.nn.Parameter(
        torch.cat([pos[:, :1], grid.flatten(2).transpose(1, 2)], dim=1), requires_grad=False)
    backbone.image_size = image_size


def load_data(cfg: Config, size: int) -> tuple[SegSplit, SegSplit]:
    if cfg.data in SHAPES_DATA:
        variant = SHAPES_DATA[cfg.data]
        return (load_shapes_split("train", size, cfg.train_count, shapes_cache(), variant),
                load_shapes_split("val", size, cfg.val_count, shapes_cache(), variant))
    if cfg.data == "voc":
        return (load_voc_split(cfg.data_root, "train", size, cfg.train_count),
                load_voc_split(cfg.data_root, "val", size, cfg.val_count))
    raise UserError(f"unknown data {cfg.data!r}",
                    fix='use data = "shapes", "shapes-large" or "voc"')


def predict(head: torch.nn.Module, feats: torch.Tensor, size: int, device: torch.device,
            batch_size: int = 64) -> np.ndarray:
    head.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(feats), batch_size):
            logits = head(feats[start:start + batch_size].to(device))
            logits = F.interpolate(logits, size=(size, size), mode="bilinear",
                                   align_corners=False)
            out.append(logits.argmax(1).to(torch.uint8).cpu().numpy())
    return np.concatenate(out)


def iou_table(names: list[str], counter: IoUCounter) -> tuple[str, dict[str, float | None]]:
    """The per-class IoU as a Markdown table, and as {class: IoU or None}."""
    iou = counter.per_class()
    lines = ["| class | IoU | intersection | union |", "|---|---:|---:|---:|"]
    for name, v, i, u in zip(names, iou, counter.intersection, counter.union, strict=True):
        shown = "n/a" if np.isnan(v) else f"{v:.4f}"
        lines.append(f"| {name} | {shown} | {i} | {u} |")
    lines.append(f"| **mean** | **{counter.miou():.4f}** | | |")
    per_class = {n: (None if np.isnan(v) else float(v)) for n, v in zip(names, iou, strict=True)}
    return "\n".join(lines) + "\n", per_class


def main() -> None:
    run, cfg = start_task(Config, "seg-heads")
    try:
        if cfg.head not in HEADS:
            raise UserError(f"unknown head {cfg.head!r}", fix=f"use one of {', '.join(HEADS)}")
        backbone: FrozenBackbone = load_backbone(
            cfg.backbone, run=run, backbone_run=cfg.backbone_run,
            backbone_path=cfg.backbone_path, image_size=cfg.image_size)
        if (cfg.backbone == "pretrain-vit" and cfg.image_size
                and cfg.image_size != backbone.image_size):
            at_resolution(backbone, cfg.image_size)
        train, val = load_data(cfg, backbone.image_size)
    except UserError as err:
        fail(run, err)
    seed_everything(cfg.seed)
    device = pick_device()
    started = time.time()
    size = backbone.image_size
    names = train.class_names
    classes = len(names)

    backbone.to(device)
    _, f_train = backbone.encode(train.images, device=device)
    _, f_val = backbone.encode(val.images, device=device)
    feature_s = time.time() - started
    print(f"seg-heads: {backbone.name} features {tuple(f_train.shape[1:])} of "
          f"{len(f_train)} + {len(f_val)} images in {feature_s:.1f}s", flush=True)
    m_train = torch.as_tensor(train.masks).long()

    head = make_head(cfg.head, backbone.dim, classes, hidden=cfg.conv_hidden,
                     heads=cfg.attn_heads, upsample=cfg.conv_upsample).to(device)
    num_params = count_parameters(head)
    formula_count, formula = head_parameter_formula(cfg.head, backbone.dim, classes,
                                                    hidden=cfg.conv_hidden)
    run.summary.update({"num_params": num_params, "num_params_formula": formula,
                        "backbone": backbone.name, "classes": names})
    print(f"head {cfg.head}: {num_params:,} parameters ({formula} = {formula_count:,})",
          flush=True)

    opt = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    total = cfg.epochs * ((len(f_train) + cfg.batch_size - 1) // cfg.batch_size)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: max(0.0, 1 - s / total) ** cfg.poly_power)
    checkpoint = Checkpoint(run)
    done, carried = checkpoint.resume(head=head, optimizer=opt, schedule=sched)
    best = float(carried.get("best", 0.0))
    started -= carried.get("training_s", 0.0)  # the time earlier attempts spent counts too
    for epoch in range(done + 1, cfg.epochs + 1):
        head.train()
        order = torch.randperm(len(f_train))
        loss_sum = 0.0
        batch_log = BatchLoss(run, every=cfg.log_every, epoch=epoch,
                              batches_per_epoch=batches(len(order), cfg.batch_size))
        for start in range(0, len(order), cfg.batch_size):
            idx = order[start:start + cfg.batch_size]
            logits = head(f_train[idx].to(device))
            logits = F.interpolate(logits, size=(size, size), mode="bilinear",
                                   align_corners=False)
            loss = F.cross_entropy(logits, m_train[idx].to(device), ignore_index=IGNORE_INDEX)
            train_step(opt, loss, batch_log)
            sched.step()
            loss_sum += loss.item() * len(idx)
        pred = predict(head, f_val, size, device)
        counter = IoUCounter(classes)
        counter.add(pred, val.masks)
        miou = counter.miou()
        best = max(best, miou)
        run.log({"train_loss": loss_sum / len(order), "val_miou": miou,
                 "lr": sched.get_last_lr()[0]}, step=epoch)
        run.progress(epoch, cfg.epochs)
        checkpoint.save(epoch, best=best, training_s=time.time() - started - feature_s)
        print(f"epoch {epoch}/{cfg.epochs} train_loss {loss_sum / len(order):.4f} "
              f"val_miou {miou:.4f}", flush=True)

    pred = predict(head, f_val, size, device)  # again: a resumed run may train no epoch here
    counter = IoUCounter(classes)
    counter.add(pred, val.masks)
    markdown, per_class = iou_table(names, counter)
    run.log({f"iou/{n}": v for n, v in per_class.items() if v is not None}, step=cfg.epochs)
    run.save_artifact("per_class_iou.md", f"# {cfg.head} head on {backbone.name}\n\n"
                      + markdown)
    run.save_artifact("per_class_iou.json", json.dumps(
        {"head": cfg.head, "backbone": backbone.name, "num_params": num_params,
         "miou": counter.miou(), "classes": per_class,
         "intersection": counter.intersection.tolist(), "union": counter.union.tolist()},
        indent=1) + "\n")
    run.log_text("per_class_iou", markdown, step=cfg.epochs)
    torch.save({"head": cfg.head, "config": asdict(cfg), "state_dict": head.cpu().state_dict()},
               run.artifacts_dir / "head.pt")
    shown = min(4, len(val.images))
    run.log_image("predictions", prediction_strip(val.images[:shown], val.masks[:shown],
                                                  pred[:shown], classes), step=cfg.epochs)
    run.summary.update({"val_miou": counter.miou(), "best_val_miou": best,
                        "feature_s": round(feature_s, 1),
                        "wall_s": round(time.time() - started, 1)})
    checkpoint.done()


if __name__ == "__main__":
    main()
