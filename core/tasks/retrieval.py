"""Image-text retrieval: linear projections of frozen encoders, trained with symmetric InfoNCE.

    python -m dltui.tasks.retrieval temperature=0.1 backbone_run=runs/pretrain-vit/<id>
    python -m dltui.tasks.retrieval init_from=retrieval      # fine-tune a needed run's head

Frozen encoders (nothing of them is trained):
- images: the pretrain-vit backbone (a needed run); an image is its final CLS
  token joined with its patch tokens averaged over a 2 x 2 grid (5C numbers,
  so where a shape stands survives the pooling);
- captions: a bag of words and word pairs (unigram and bigram counts over the
  training captions' vocabulary, L2-normalised).

Two linear projections map both into one space; embeddings are L2-normalised
and their dot products divided by `temperature` are the logits of InfoNCE in
both directions (image -> its caption among the batch's, and back). Each
epoch pairs every training image with one of its captions at random.

`init_from`: "" trains from random projections; the name of a needed
experiment (run.needs) or a run directory loads that run's
artifacts/projections.pt and goes on training (fine-tuning).

Logs per epoch on the whole validation set (every image, all its captions):
train_loss, i_r1, i_r5, i_r10, i_medr (image -> text), t_r1, t_r5, t_r10,
t_medr (text -> image). Saves artifacts/projections.pt and examples.md.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dltui.data.shapes import load_shapes
from dltui.errors import UserError
from dltui.tasks.batch_log import LOG_EVERY, BatchLoss, batches, train_step
from dltui.tasks.checkpoint import Checkpoint
from dltui.tasks.config import pick_device, seed_everything
from dltui.tasks.harness import fail, needed_run, shapes_cache, start_task
from dltui.tasks.rank_metrics import retrieval_scores
from dltui.tasks.vit import FrozenBackbone, load_pretrained_run

PROJECTIONS = "projections.pt"


@dataclass
class Config:
    temperature: float = 0.1
    init_from: str = ""
    backbone_run: str = ""
    embed_dim: int = 128
    train_count: int = 4000
    val_count: int = 1000
    epochs: int = 10
    log_every: int = LOG_EVERY  # batches between two points of the batch loss; 0: none
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 0


class BagOfNgrams:
    """A frozen text encoder: unigram and bigram counts, L2-normalised."""

    def __init__(self, vocabulary: list[str]) -> None:
        self.vocabulary = vocabulary
        self.index = {term: i for i, term in enumerate(vocabulary)}

    @staticmethod
    def terms(caption: str) -> list[str]:
        words = caption.lower().split()
        return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]

    @classmethod
    def fit(cls, captions: list[str]) -> BagOfNgrams:
        counts = Counter(t for c in captions for t in cls.terms(c))
        return cls(sorted(counts))

    def encode(self, captions: list[str]) -> torch.Tensor:
        out = torch.zeros(len(captions), len(self.vocabulary))
        for row, caption in enumerate(captions):
            for term in self.terms(caption):
                col = self.index.get(term)
                if col is not None:
                    out[row, col] += 1
        return F.normalize(out, dim=1)


class Projections(nn.Module):
    def __init__(self, image_dim: int, text_dim: int, embed_dim: int) -> None:
        super().__init__()
        self.image = nn.Linear(image_dim, embed_dim)
        self.text = nn.Linear(text_dim, embed_dim)

    def forward(self, img: torch.Tensor, txt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return F.normalize(self.image(img), dim=-1), F.normalize(self.text(txt), dim=-1)


def info_nce(img: torch.Tensor, txt: torch.Tensor, temperature: float) -> torch.Tensor:
    """Symmetric InfoNCE of matched rows of L2-normalised embeddings."""
    logits = img @ txt.T / temperature
    target = torch.arange(len(img), device=img.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def image_features(backbone: FrozenBackbone, images: np.ndarray,
                   device: torch.device) -> torch.Tensor:
    cls, fmap = backbone.encode(images, device=device)
    grid = F.adaptive_avg_pool2d(fmap, 2).flatten(1)
    return torch.cat([cls, grid], dim=1)


def resolve_init(run: Any, init_from: str) -> Path | None:
    if not init_from:
        return None
    if init_from in run.needs:
        path = Path(run.needs[init_from])
    elif Path(init_from).expanduser().is_dir():
        path = Path(init_from).expanduser()
    else:
        raise UserError(
            f"init_from={init_from!r} is neither a needed experiment nor a run directory",
            fix=f'declare needs = ["{init_from}"] in experiments.toml, or pass '
                "init_from=/path/to/a/finished/retrieval/run")
    if not (path / "artifacts" / PROJECTIONS).exists():
        raise UserError(f"{path}/artifacts holds no {PROJECTIONS}",
                        fix="point init_from at a finished retrieval run")
    return path


def main() -> None:
    run, cfg = start_task(Config, "retrieval")
    try:
        init_path = resolve_init(run, cfg.init_from)
        saved: dict[str, Any] | None = None
        if init_path is not None:
            saved = torch.load(init_path / "artifacts" / PROJECTIONS, map_location="cpu",
                               weights_only=True)
        given = cfg.backbone_run
        if not given and "pretrain-vit" not in run.needs and saved is not None:
            given = str(saved["backbone_run"])  # the fine-tuned head's own backbone
        backbone_dir = needed_run(run, "pretrain-vit", given, setting="backbone_run")
        backbone = load_pretrained_run(backbone_dir)
    except UserError as err:
        fail(run, err)
    seed_everything(cfg.seed)
    device = pick_device()
    started = time.time()
    train = load_shapes("train", image_size=backbone.image_size, count=cfg.train_count,
                        cache_dir=shapes_cache())
    val = load_shapes("val", image_size=backbone.image_size, count=cfg.val_count,
                      cache_dir=shapes_cache())
    backbone.to(device)
    img_train = image_features(backbone, train.images, device)
    img_val = image_features(backbone, val.images, device).to(device)

    if saved is not None:
        text_encoder = BagOfNgrams(list(saved["vocabulary"]))
    else:
        text_encoder = BagOfNgrams.fit([c for caps in train.captions for c in caps])
    per_image = len(train.captions[0])
    txt_train = text_encoder.encode([c for caps in train.captions for c in caps])
    txt_train = txt_train.reshape(len(train.captions), per_image, -1)
    val_texts = [c for caps in val.captions for c in caps]
    txt_val = text_encoder.encode(val_texts).to(device)
    owner = np.repeat(np.arange(len(val.captions)), [len(c) for c in val.captions])

    heads = Projections(img_train.shape[1], len(text_encoder.vocabulary), cfg.embed_dim)
    if saved is not None:
        try:
            heads.load_state_dict(saved["state_dict"])
        except RuntimeError as err:
            fail(run, UserError(f"the projections in {init_path} do not fit this run: {err}",
                                fix="fine-tune from a run with the same embed_dim"))
    heads.to(device)
    print(f"retrieval: image features {img_train.shape[1]}, text features "
          f"{len(text_encoder.vocabulary)}, {'from ' + str(init_path) if init_path else 'scratch'}"
          f", {time.time() - started:.1f}s to encode", flush=True)
    run.summary.update({"num_params": sum(p.numel() for p in heads.parameters()),
                        "backbone_run": str(backbone_dir),
                        "init_from": str(init_path) if init_path else ""})
    opt = torch.optim.AdamW(heads.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)

    def evaluate() -> dict[str, float]:
        heads.eval()
        with torch.no_grad():
            i, t = heads(img_val, txt_val)
            return retrieval_scores((i @ t.T).cpu().numpy(), owner)

    checkpoint = Checkpoint(run)
    done, carried = checkpoint.resume(heads=heads, optimizer=opt)
    best = float(carried.get("best", -1.0))
    started -= carried.get("wall_s", 0.0)
    scores: dict[str, float] = evaluate() if done else {}
    for epoch in range(done + 1, cfg.epochs + 1):
        heads.train()
        order = torch.randperm(len(img_train))
        pick = torch.randint(per_image, (len(img_train),))
        loss_sum = 0.0
        batch_log = BatchLoss(run, every=cfg.log_every, epoch=epoch,
                              batches_per_epoch=batches(len(order), cfg.batch_size))
        for start in range(0, len(order), cfg.batch_size):
            idx = order[start:start + cfg.batch_size]
            i, t = heads(img_train[idx].to(device), txt_train[idx, pick[idx]].to(device))
            loss = info_nce(i, t, cfg.temperature)
            train_step(opt, loss, batch_log)
            loss_sum += loss.item() * len(idx)
        scores = evaluate()
        best = max(best, scores["i_r1"])
        run.log({"train_loss": loss_sum / len(order), **scores}, step=epoch)
        run.progress(epoch, cfg.epochs)
        checkpoint.save(epoch, best=best, wall_s=time.time() - started)
        print(f"epoch {epoch}/{cfg.epochs} train_loss {loss_sum / len(order):.4f} "
              + " ".join(f"{k} {v:.3f}" for k, v in scores.items()), flush=True)

    torch.save({"state_dict": heads.cpu().state_dict(), "vocabulary": text_encoder.vocabulary,
                "backbone_run": str(backbone_dir), "config": asdict(cfg)},
               run.artifacts_dir / PROJECTIONS)
    heads.to(device)
    examples = retrieval_examples(heads, img_val, txt_val, val_texts, val.captions)
    run.save_artifact("examples.md", examples)
    run.log_text("examples", examples, step=cfg.epochs)
    run.summary.update({**scores, "best_i_r1": best, "wall_s": round(time.time() - started, 1)})
    checkpoint.done()


def retrieval_examples(heads: Projections, img: torch.Tensor, txt: torch.Tensor,
                       texts: list[str], truth: list[list[str]], shown: int = 4) -> str:
    """Markdown: the top three captions retrieved for the first few validation images."""
    heads.eval()
    with torch.no_grad():
        i, t = heads(img[:shown], txt)
        top = (i @ t.T).topk(3, dim=1).indices.cpu().tolist()
    lines = []
    for n, row in enumerate(top):
        lines.append(f"**image {n}** (truth: {truth[n][0]})\n")
        lines += [f"{r + 1}. {texts[j]}" + (" ✓" if texts[j] in truth[n] else "")
                  for r, j in enumerate(row)]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
