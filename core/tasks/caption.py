"""Image captioning with and without attention (the report's Q3).

    python -m dltui.tasks.caption                         # embedded shapes, no attention
    python -m dltui.tasks.caption attention=true
    python -m dltui.tasks.caption data=sydney data_root=~/data/sydney weights=~/resnet18.pth

A frozen CNN encoder turns every image into a grid of features once, before
training. On the embedded shapes the encoder is a small CNN pretrained in the
same run (`encoder = "labels+colours"`: the scene's label, i.e. its pair of
shape kinds, and which colours it holds; or `"labels"` alone) or left random
(`"random"`); on Sydney-/UCM-Captions it is a torchvision ResNet, untrained
unless `weights` names a local state dict. Two coordinate channels join the
grid features (see caption_model). The decoder is an
LSTMCell (embedding 100, hidden 256, dropout 0.5) whose state starts from the
mean feature; `attention = true` adds additive attention over the grid and
feeds its context to the LSTM. Adam, teacher forcing, greedy decoding.

Logs per epoch `train_loss`, `val_bleu4` (sacrebleu corpus BLEU-4 over all
references, as a fraction) and `val_bleu4_sentence_mean` (mean NLTK-style
sentence BLEU-4); at the end `test_bleu4` and `test_bleu4_sentence_mean`
(also in the summary), example captions with their images (TensorBoard and
artifacts/examples.md, with attention maps when the decoder attends) and every
test caption in artifacts/test_captions.tsv.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dltui.errors import UserError
from dltui.tasks.batch_log import LOG_EVERY, BatchLoss, batches, train_step
from dltui.tasks.caption_model import (
    END,
    START,
    CaptionDecoder,
    ShapesEncoder,
    Vocabulary,
    torchvision_encoder,
    with_coordinates,
)
from dltui.tasks.checkpoint import Checkpoint
from dltui.tasks.cnn import cpu_threads
from dltui.tasks.config import pick_device, seed_everything
from dltui.tasks.harness import fail, shapes_cache, start_task
from dltui.tasks.metrics_text import corpus_bleu4, mean_sentence_bleu4

DATA_CHOICES = ("shapes", "sydney", "ucm")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class CaptionConfig:
    data: str = "shapes"  # "shapes" (embedded), "sydney" or "ucm" (need data_root)
    data_root: str = ""  # the folder holding dataset.json and imgs/
    attention: bool = False
    epochs: int = 10
    log_every: int = LOG_EVERY  # batches between two points of the batch loss; 0: none
    lr: float = 4e-4
    batch_size: int = 8
    embed_dim: int = 100
    hidden_dim: int = 256
    attention_dim: int = 100
    dropout: float = 0.5
    max_len: int = 20  # words in a generated caption
    # Training pairs (image, one of its references) per image and epoch; 0 = every reference.
    pairs_per_image: int = 1
    seed: int = 42
    # Torch CPU threads; at batch 8 more threads cost more than they give. 0 = all cores.
    # OMP_NUM_THREADS, when set, wins.
    threads: int = 1
    # 0 = the whole split; smaller counts make quick runs.
    train_count: int = 0
    val_count: int = 0
    test_count: int = 0
    # Shapes: "labels+colours" (pretrained here on the labels and the colours present),
    # "labels" (on the labels alone) or "random" (untrained).
    encoder: str = "labels+colours"
    encoder_epochs: int = 8
    backbone: str = "resnet18"  # real data: a torchvision ResNet
    weights: str = ""  # real data: a local state dict for the backbone; empty = untrained
    image_size: int = 0  # 0 = 28 for shapes, 224 for real data
    min_word_count: int = 1
    examples: int = 8


@dataclass
class CaptionData:
    images: np.ndarray  # N x S x S x 3 uint8
    captions: list[list[str]]
    labels: np.ndarray | None = None  # shapes only: for pretraining the encoder
    colours: np.ndarray | None = None  # shapes only: N x colours, 1 where the scene has it


def load_data(cfg: CaptionConfig) -> dict[str, CaptionData]:
    counts = {"train": cfg.train_count, "val": cfg.val_count, "test": cfg.test_count}
    if cfg.data == "shapes":
        from dltui.data.shapes import COLOUR, COLOUR_NAMES, load_shapes

        size = cfg.image_size or 28
        if size != 28:
            raise UserError("the shapes encoder takes 28x28 images", fix="leave image_size at 0")
        out = {}
        for name, count in counts.items():
            part = load_shapes(name, image_size=size, count=count or None,
                               cache_dir=shapes_cache())
            colours = np.zeros((len(part), len(COLOUR_NAMES)), np.float32)
            np.put_along_axis(colours, part.objects[:, :, COLOUR], 1.0, axis=1)
            out[name] = CaptionData(part.images, part.captions, part.labels, colours)
        return out
    if cfg.data in ("sydney", "ucm"):
        from dltui.data.karpathy import load_karpathy

        size = cfg.image_size or 224
        return {name: CaptionData(*_pair(load_karpathy(cfg.data_root, name, image_size=size,
                                                       count=count or None)))
                for name, count in counts.items()}
    raise UserError(f"unknown data {cfg.data!r}",
                    fix=f"use data = one of {', '.join(DATA_CHOICES)}")


def _pair(split: Any) -> tuple[np.ndarray, list[list[str]]]:
    return split.images, split.captions


def _as_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(255)


def pretrain_encoder(encoder: ShapesEncoder, data: CaptionData, epochs: int,
                     generator: torch.Generator, device: Any, *, colours: bool) -> float:
    """Train the encoder on the scenes' labels (pair of shape kinds) and, with `colours`,
    on which colours each scene holds; the label accuracy of the last epoch."""
    assert data.labels is not None and data.colours is not None
    images = _as_tensor(data.images).to(device)
    labels = torch.from_numpy(data.labels).to(device)
    present = torch.from_numpy(data.colours).to(device)
    optimizer = torch.optim.Adam(encoder.parameters(), lr=1e-3)
    encoder.train()
    acc = 0.0
    for _ in range(epochs):
        order = torch.randperm(len(labels), generator=generator).to(device)
        correct = 0
        for start in range(0, len(labels), 32):
            idx = order[start:start + 32]
            scores, colour_scores = encoder.classify(images[idx])
            loss = F.cross_entropy(scores, labels[idx])
            if colours:
                loss = loss + F.binary_cross_entropy_with_logits(colour_scores, present[idx])
            train_step(optimizer, loss)
            correct += int((scores.argmax(1) == labels[idx]).sum())
        acc = correct / max(len(labels), 1)
    return acc


@torch.inference_mode()
def grid_features(encoder: nn.Module, images: np.ndarray, device: Any, *,
                  imagenet: bool, batch_size: int = 64) -> torch.Tensor:
    """Frozen features N x P x (D + 2) of all images, coordinates appended."""
    encoder.eval()
    out = []
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)
    for start in range(0, len(images), batch_size):
        x = _as_tensor(images[start:start + batch_size]).to(device)
        if imagenet:
            x = (x - mean) / std
        grid = encoder.grid(x) if isinstance(encoder, ShapesEncoder) else encoder(x)
        out.append(with_coordinates(grid))
    return torch.cat(out)


def pad_batch(encoded: list[list[int]], device: Any) -> torch.Tensor:
    width = max(len(e) for e in encoded)
    batch = torch.zeros((len(encoded), width), dtype=torch.long)
    for row, e in enumerate(encoded):
        batch[row, :len(e)] = torch.tensor(e)
    return batch.to(device)


def train_epoch(decoder: CaptionDecoder, optimizer: torch.optim.Optimizer,
                features: torch.Tensor, encoded: list[list[list[int]]], per_image: int,
                batch_size: int, rng: np.random.Generator,
                batch_log: BatchLoss | None = None) -> float:
    """One epoch of teacher forcing over shuffled pairs; the mean batch loss (per word)."""
    decoder.train()
    pairs = [(i, k) for i, refs in enumerate(encoded) for k in
             (range(len(refs)) if per_image <= 0 or per_image >= len(refs)
              else rng.choice(len(refs), per_image, replace=False))]
    order = rng.permutation(len(pairs))
    total, steps = 0.0, 0
    for start in range(0, len(order), batch_size):
        chosen = [pairs[j] for j in order[start:start + batch_size]]
        captions = pad_batch([encoded[i][int(k)] for i, k in chosen], features.device)
        index = torch.tensor([i for i, _ in chosen], device=features.device)
        logits = decoder(features[index], captions)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), captions[:, 1:].reshape(-1),
                               ignore_index=0)
        train_step(optimizer, loss, batch_log)
        total += loss.item()
        steps += 1
    return total / max(steps, 1)


def generate(decoder: CaptionDecoder, vocab: Vocabulary, features: torch.Tensor,
             max_len: int, batch_size: int = 500) -> tuple[list[str], torch.Tensor | None]:
    """Greedy captions of all images, and the attention weights (N x L x P) if any."""
    decoder.eval()
    captions: list[str] = []
    alphas = []
    for start in range(0, len(features), batch_size):
        words, alpha = decoder.greedy(features[start:start + batch_size], vocab.index[START],
                                      vocab.index[END], max_len)
        captions += [vocab.decode(row.tolist()) for row in words]
        if alpha is not None:
            alphas.append(F.pad(alpha, (0, 0, 0, max_len - alpha.shape[1])))
    return captions, (torch.cat(alphas) if alphas else None)


def bleu_scores(hyps: list[str], refs: list[list[str]], prefix: str) -> dict[str, float]:
    return {f"{prefix}_bleu4": corpus_bleu4(hyps, refs),
            f"{prefix}_bleu4_sentence_mean": mean_sentence_bleu4(hyps, refs)}


def upscale(image: np.ndarray, at_least: int = 112) -> np.ndarray:
    factor = max(1, -(-at_least // image.shape[0]))
    return image.repeat(factor, axis=0).repeat(factor, axis=1)


def attention_strip(image: np.ndarray, alpha: torch.Tensor, words: list[str]) -> np.ndarray:
    """The image once per generated word, brightened where the decoder looked."""
    side = int(round(alpha.shape[-1] ** 0.5))
    big = upscale(image).astype(np.float32)
    tiles = []
    for t in range(min(len(words) + 1, alpha.shape[0])):
        weights = alpha[t].reshape(side, side).float().cpu().numpy()
        weights = weights / max(float(weights.max()), 1e-8)
        factor = big.shape[0] // side
        mask = np.kron(weights, np.ones((factor, factor), np.float32))
        mask = np.pad(mask, ((0, big.shape[0] - mask.shape[0]), (0, big.shape[1] - mask.shape[1])))
        tiles.append((big * (0.25 + 0.75 * mask[..., None])).astype(np.uint8))
        tiles.append(np.full((big.shape[0], 4, 3), 255, np.uint8))
    return np.concatenate(tiles[:-1], axis=1)


def log_examples(run: Any, data: CaptionData, hyps: list[str], alphas: torch.Tensor | None,
                 count: int, step: int) -> None:
    lines = ["# Example captions (test split, greedy decoding)", ""]
    for i in range(min(count, len(hyps))):
        image = upscale(data.images[i])
        run.log_image(f"example_{i}", image, step=step)
        lines += [f"## Example {i}", "", f"![example {i}](example_{i}.png)", "",
                  f"- **generated:** {hyps[i]}"]
        lines += [f"- reference: {ref}" for ref in data.captions[i]]
        if alphas is not None:
            run.log_image(f"attention_{i}", attention_strip(data.images[i], alphas[i],
                                                            hyps[i].split()), step=step)
            lines += ["", f"![where the decoder looked, word by word](attention_{i}.png)"]
        lines.append("")
        run.log_text(f"examples/{i}", f"**generated:** {hyps[i]}\n\n"
                     + "\n".join(f"- {ref}" for ref in data.captions[i]), step=step)
    run.save_artifact("examples.md", "\n".join(lines))


def build_encoder(cfg: CaptionConfig, data: dict[str, CaptionData], device: Any,
                  generator: torch.Generator, run: Any, *,
                  pretrain: bool = True) -> tuple[nn.Module, bool]:
    """The frozen encoder and whether it takes ImageNet-normalised input; `pretrain`
    False leaves the shapes encoder untrained (a resumed run loads its weights)."""
    if cfg.data == "shapes":
        encoder = ShapesEncoder().to(device)
        if cfg.encoder in ("labels", "labels+colours") and pretrain:
            acc = pretrain_encoder(encoder, data["train"], cfg.encoder_epochs, generator, device,
                                   colours=cfg.encoder == "labels+colours")
            run.summary["encoder_train_acc"] = acc
            print(f"encoder pretrained on the labels: train accuracy {acc:.3f}", flush=True)
        elif cfg.encoder not in ("random", "labels", "labels+colours"):
            raise UserError(f"unknown encoder {cfg.encoder!r}",
                            fix='use encoder = "labels", "labels+colours" or "random"')
        imagenet = False
    else:
        encoder = torchvision_encoder(cfg.backbone, cfg.weights).to(device)  # type: ignore[assignment]
        if not cfg.weights:
            print(f"note: {cfg.backbone} is untrained (no weights given); pass "
                  f"weights=/path/{cfg.backbone}.pth for ImageNet features", flush=True)
        imagenet = True
    for p in encoder.parameters():
        p.requires_grad_(False)
    return encoder, imagenet


def main() -> None:
    run, cfg = start_task(CaptionConfig, "caption")
    try:
        if cfg.batch_size < 1 or cfg.epochs < 0 or cfg.max_len < 1:
            raise UserError("batch_size and max_len must be at least 1, epochs not negative",
                            fix="pass batch_size=8 epochs=10 max_len=20")
        device = pick_device()
        cpu_threads(device, cfg.threads)
        data = load_data(cfg)
        seed_everything(cfg.seed)
        generator = torch.Generator().manual_seed(cfg.seed)
        checkpoint = Checkpoint(run)
        encoder, imagenet = build_encoder(cfg, data, device, generator, run,
                                          pretrain=not checkpoint.exists)
    except UserError as err:
        fail(run, err)
    checkpoint.resume(encoder=encoder)  # the features below come from the trained encoder
    rng = np.random.default_rng(cfg.seed)
    features = {name: grid_features(encoder, part.images, device, imagenet=imagenet)
                for name, part in data.items()}
    vocab = Vocabulary([c for refs in data["train"].captions for c in refs], cfg.min_word_count)
    encoded = [[vocab.encode(c) for c in refs] for refs in data["train"].captions]
    decoder = CaptionDecoder(len(vocab), features["train"].shape[2], embed_dim=cfg.embed_dim,
                             hidden_dim=cfg.hidden_dim, attention_dim=cfg.attention_dim,
                             dropout=cfg.dropout, attention=cfg.attention).to(device)
    optimizer = torch.optim.Adam(decoder.parameters(), lr=cfg.lr)
    run.summary["num_params"] = sum(p.numel() for p in decoder.parameters())
    run.summary["vocab_size"] = len(vocab)
    print(f"{cfg.data}: {len(data['train'].captions)} train, {len(data['val'].captions)} val, "
          f"{len(data['test'].captions)} test images; {len(vocab)} words; grid "
          f"{features['train'].shape[1]} x {features['train'].shape[2]}; attention "
          f"{cfg.attention}; {run.summary['num_params']:,} decoder parameters", flush=True)
    done, _ = checkpoint.resume(decoder=decoder, optimizer=optimizer, rng=rng)
    run.progress(done, cfg.epochs)
    for epoch in range(done + 1, cfg.epochs + 1):
        started = time.perf_counter()
        pairs = sum(len(refs) if cfg.pairs_per_image <= 0 or cfg.pairs_per_image >= len(refs)
                    else cfg.pairs_per_image for refs in encoded)
        batch_log = BatchLoss(run, every=cfg.log_every, epoch=epoch,
                              batches_per_epoch=batches(pairs, cfg.batch_size))
        loss = train_epoch(decoder, optimizer, features["train"], encoded, cfg.pairs_per_image,
                           cfg.batch_size, rng, batch_log)
        hyps, _ = generate(decoder, vocab, features["val"], cfg.max_len)
        scores = bleu_scores(hyps, data["val"].captions, "val")
        run.log({"train_loss": loss, **scores}, step=epoch)
        run.progress(epoch, cfg.epochs)
        checkpoint.save(epoch)
        print(f"epoch {epoch}/{cfg.epochs}  train_loss {loss:.4f}  "
              f"val_bleu4 {scores['val_bleu4']:.4f}  "
              f"val_bleu4_sentence_mean {scores['val_bleu4_sentence_mean']:.4f}  "
              f"({time.perf_counter() - started:.1f}s)  e.g. {hyps[0]!r}", flush=True)
    hyps, alphas = generate(decoder, vocab, features["test"], cfg.max_len)
    scores = bleu_scores(hyps, data["test"].captions, "test")
    run.log(scores, step=cfg.epochs)
    run.summary.update(scores)
    print("  ".join(f"{k} {v:.4f}" for k, v in scores.items()), flush=True)
    log_examples(run, data["test"], hyps, alphas, cfg.examples, cfg.epochs)
    run.save_artifact("test_captions.tsv", "index\tgenerated\tfirst reference\n" + "".join(
        f"{i}\t{hyp}\t{refs[0] if refs else ''}\n"
        for i, (hyp, refs) in enumerate(zip(hyps, data["test"].captions, strict=True))))
    checkpoint.done()
    run.finish()


if __name__ == "__main__":
    main()
