"""Caption images with BLIP: greedy or top-k sampling, a temperature, a prompt; corpus BLEU-4.

    python -m dltui.tasks.blip_caption decoding=topk temperature=0.7 prompt="a picture of"

`model`: "pretrained" loads BlipForConditionalGeneration from `model_path`
or, without one, Salesforce/blip-image-captioning-base from the local
Hugging Face cache, and captions zero-shot; "small" builds a small BLIP
offline (blip_model.py) and trains it here on the embedded captions first;
"auto" (the default) takes the pretrained one when its files are on disk and
says so, else the small one.

The small BLIP trains as BLIP's captioner was fine-tuned: every caption is
preceded by `train_prompt` ("a picture of"), whose tokens are not scored.
Generation starts from [DEC] + the `prompt`'s tokens; the prompt is taken off
the output before scoring. BLEU-4 is sacrebleu's corpus BLEU, lowercased,
with all five references of an image as five reference streams, reported as
a fraction in [0, 1] like the caption task's.

Logs: train_loss and val_bleu4 per epoch (small model); test_bleu4 and bleu4
(the same, final) at the end. Summary bleu4, val_bleu4, model, num_params.
Artifacts: predictions.jsonl (test: prediction, raw output, references),
examples.md, and the trained small model in model/ (save_pretrained).

`data=shapes-long-tail` (the bundled manifest's choice) has the same images
with references drawn from a long tail of synonyms, as real caption sets
have (see dltui.data.shapes_variants). `data=karpathy` reads a
Karpathy-style dataset.json (Sydney-/UCM-Captions) from `data_root` instead
of the embedded shapes.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sacrebleu
import torch

from dltui.data.shapes import load_shapes
from dltui.errors import UserError
from dltui.tasks.batch_log import LOG_EVERY, BatchLoss, batches, train_step
from dltui.tasks.blip_model import (
    DEC,
    PAD,
    Captioner,
    pretrained_available,
    pretrained_blip,
    save_captioner,
    small_blip,
    strip_prompt,
)
from dltui.tasks.checkpoint import Checkpoint
from dltui.tasks.config import pick_device, seed_everything
from dltui.tasks.harness import fail, shapes_cache, start_task

LONG_PROMPT = "a simple synthetic picture of two coloured shapes on a dark background showing"
# Words of the prompts the built-in sweep uses are in the small model's vocabulary.
SWEEP_PROMPTS = ["a picture of", "an image of", LONG_PROMPT]
SHAPES_DATA = {"shapes": "plain", "shapes-long-tail": "long-tail"}


@dataclass
class Config:
    model: str = "auto"
    model_path: str = ""
    decoding: str = "greedy"
    top_k: int = 50
    temperature: float = 1.0
    prompt: str = "a picture of"
    data: str = "shapes"
    data_root: str = ""
    train_prompt: str = "a picture of"
    max_new_tokens: int = 24
    image_size: int = 32
    train_count: int = 4000
    val_count: int = 300
    test_count: int = 500
    epochs: int = 8
    log_every: int = LOG_EVERY  # batches between two points of the batch loss; 0: none
    batch_size: int = 64
    lr: float = 2e-3
    seed: int = 0


def corpus_bleu4(hypotheses: list[str], references: list[list[str]]) -> float:
    """sacrebleu corpus BLEU-4, lowercased, in [0, 1]; references[i] holds image i's captions.

    Reference k of every image forms stream k (None where an image has fewer),
    the layout sacrebleu takes for several references per sentence.
    """
    k = max((len(r) for r in references), default=0)
    streams = [[refs[j] if j < len(refs) else None for refs in references] for j in range(k)]
    if not hypotheses:
        return 0.0
    score = sacrebleu.corpus_bleu(hypotheses, streams, lowercase=True)  # type: ignore[arg-type]
    return float(score.score) / 100


def caption(captioner: Captioner, images: np.ndarray, cfg: Config, device: torch.device,
            batch_size: int = 100) -> tuple[list[str], list[str]]:
    """(captions without the prompt, raw outputs) for N x H x W x 3 uint8 images."""
    captioner.model.eval()
    torch.manual_seed(cfg.seed)  # the same samples for the same settings
    options: dict[str, object] = {"max_new_tokens": cfg.max_new_tokens}
    if cfg.decoding == "topk":
        options.update(do_sample=True, top_k=cfg.top_k, temperature=cfg.temperature)
    else:
        options.update(do_sample=False, num_beams=1)
    raw: list[str] = []
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size]
        ids = captioner.model.generate(
            pixel_values=captioner.pixels(batch, device),
            input_ids=captioner.prompt_ids(cfg.prompt, len(batch), device), **options)
        raw += captioner.decode(ids)
    return [strip_prompt(r, cfg.prompt) for r in raw], raw


def training_batch(captioner: Captioner, captions: list[str], prompt: str,
                   device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask, labels): [DEC] prompt caption [SEP], prompt not scored."""
    texts = [f"{prompt} {c}".strip() for c in captions]
    enc = captioner.tokenizer(texts, padding=True, return_tensors="pt")
    ids = enc.input_ids.clone()
    ids[:, 0] = DEC  # BLIP decodes from [DEC], where the text encoder has [CLS]
    labels = ids.masked_fill(ids == PAD, -100)
    prompt_len = len(captioner.tokenizer(prompt).input_ids) - 1  # [CLS] + prompt words
    labels[:, :prompt_len] = -100
    return ids.to(device), enc.attention_mask.to(device), labels.to(device)


def check_config(cfg: Config) -> None:
    if cfg.model not in ("auto", "small", "pretrained"):
        raise UserError(f"unknown model {cfg.model!r}",
                        fix='use model = "auto", "small" or "pretrained"')
    if cfg.decoding not in ("greedy", "topk"):
        raise UserError(f"unknown decoding {cfg.decoding!r}", fix='use "greedy" or "topk"')
    if cfg.data not in (*SHAPES_DATA, "karpathy"):
        raise UserError(f"unknown data {cfg.data!r}",
                        fix='use data = "shapes", "shapes-long-tail" or "karpathy"')


def load_split(cfg: Config, split: str, count: int, size: int) -> Any:
    """Images and references (`.images`, `.captions`) of the embedded set or dataset.json."""
    if cfg.data == "karpathy":
        from dltui.data.karpathy import load_karpathy

        return load_karpathy(cfg.data_root, split, image_size=size, count=count or None)
    return load_shapes(split, image_size=size, count=count, cache_dir=shapes_cache(),
                       variant=SHAPES_DATA[cfg.data])


def wants_pretrained(cfg: Config) -> bool:
    return cfg.model == "pretrained" or (cfg.model == "auto" and bool(
        cfg.model_path or pretrained_available()))


def small_for(cfg: Config, captions: list[list[str]]) -> Captioner:
    """A small BLIP whose vocabulary holds the captions' words and the prompts'."""
    words = {w for caps in captions for c in caps for w in c.split()}
    words |= {w for p in [*SWEEP_PROMPTS, cfg.prompt, cfg.train_prompt] for w in p.lower().split()}
    return small_blip(sorted(words), image_size=cfg.image_size)


def model_from_needs(run: Any, cfg: Config) -> None:
    """`model_path = "blip-train"` names a needed experiment: use the BLIP it trained."""
    if cfg.model_path in run.needs:
        cfg.model_path = str(Path(run.needs[cfg.model_path]) / "artifacts" / "model")


def main() -> None:
    run, cfg = start_task(Config, "blip-caption")
    try:
        model_from_needs(run, cfg)
        check_config(cfg)
        pretrained = pretrained_blip(cfg.model_path) if wants_pretrained(cfg) else None
    except UserError as err:
        fail(run, err)
    seed_everything(cfg.seed)
    device = pick_device()
    started = time.time()
    try:
        # A pretrained model captions zero-shot: it needs test images only, at its own size.
        size = pretrained.image_size if pretrained else cfg.image_size
        test = load_split(cfg, "test", cfg.test_count, size)
        if pretrained is None:
            train = load_split(cfg, "train", cfg.train_count, size)
            val = load_split(cfg, "val", cfg.val_count, size)
    except UserError as err:
        fail(run, err)
    captioner = pretrained or small_for(cfg, train.captions)
    trained_here = pretrained is None
    captioner.model.to(device)
    num_params = sum(p.numel() for p in captioner.model.parameters())
    run.summary.update({"model": captioner.name, "num_params": num_params})
    print(f"blip-caption: {captioner.name}, {num_params:,} parameters, decoding "
          f"{cfg.decoding} (temperature {cfg.temperature}), prompt {cfg.prompt!r}", flush=True)
    if not trained_here:
        print(f"using pretrained BLIP from {captioner.name}; it captions zero-shot, no "
              "training (model=small trains a small BLIP instead)", file=sys.stderr)

    val_bleu: float | None = None
    checkpoint = Checkpoint(run)
    if trained_here:
        opt = torch.optim.AdamW(captioner.model.parameters(), lr=cfg.lr, weight_decay=0.01)
        steps = cfg.epochs * ((len(train) + cfg.batch_size - 1) // cfg.batch_size)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps,
                                                    pct_start=0.1)
        pixels = captioner.pixels(train.images, torch.device("cpu"))
        done, carried = checkpoint.resume(model=captioner.model, optimizer=opt, schedule=sched)
        val_bleu = carried.get("val_bleu")
        started -= carried.get("wall_s", 0.0)
        for epoch in range(done + 1, cfg.epochs + 1):
            captioner.model.train()
            order = torch.randperm(len(train))
            pick = torch.randint(len(train.captions[0]), (len(train),))
            loss_sum = 0.0
            batch_log = BatchLoss(run, every=cfg.log_every, epoch=epoch,
                                  batches_per_epoch=batches(len(order), cfg.batch_size))
            for start in range(0, len(order), cfg.batch_size):
                idx = order[start:start + cfg.batch_size].tolist()
                ids, mask, labels = training_batch(
                    captioner, [train.captions[i][int(pick[i])] for i in idx],
                    cfg.train_prompt, device)
                out = captioner.model(pixel_values=pixels[idx].to(device), input_ids=ids,
                                      attention_mask=mask, labels=labels)
                train_step(opt, out.loss, batch_log)
                sched.step()
                loss_sum += out.loss.item() * len(idx)
            hyps, _ = caption(captioner, val.images, cfg, device)
            val_bleu = corpus_bleu4(hyps, val.captions)
            run.log({"train_loss": loss_sum / len(order), "val_bleu4": val_bleu,
                     "lr": sched.get_last_lr()[0]}, step=epoch)
            run.progress(epoch, cfg.epochs)
            checkpoint.save(epoch, val_bleu=val_bleu, wall_s=time.time() - started)
            print(f"epoch {epoch}/{cfg.epochs} train_loss {loss_sum / len(order):.4f} "
                  f"val_bleu4 {val_bleu:.4f} e.g. {hyps[0]!r}", flush=True)
        save_captioner(captioner, run.artifacts_dir / "model")

    hyps, raw = caption(captioner, test.images, cfg, device)
    bleu = corpus_bleu4(hyps, test.captions)
    final_step = cfg.epochs if trained_here else 0
    run.log({"test_bleu4": bleu, "bleu4": bleu}, step=final_step)
    rows = [json.dumps({"index": i, "prediction": h, "raw": r, "references": refs})
            for i, (h, r, refs) in enumerate(zip(hyps, raw, test.captions, strict=True))]
    run.save_artifact("predictions.jsonl", "\n".join(rows) + "\n")
    examples = "\n".join(f"- **{h}**  \n  reference: {refs[0]}"
                         for h, refs in zip(hyps[:8], test.captions[:8], strict=True))
    run.save_artifact("examples.md", f"# {captioner.name}, {cfg.decoding}, temperature "
                      f"{cfg.temperature}, prompt {cfg.prompt!r}\n\n{examples}\n")
    run.log_text("examples", examples, step=final_step)
    print(f"test bleu4 {bleu:.4f}", flush=True)
    run.summary.update({"bleu4": bleu, "val_bleu4": val_bleu,
                        "wall_s": round(time.time() - started, 1)})
    checkpoint.done()


if __name__ == "__main__":
    main()
