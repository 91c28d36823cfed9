"""A small Vision Transformer, its building blocks, and the frozen backbones the heads sit on.

`SmallViT` mirrors DINO's ViT-S/16 at toy scale: patch embedding, a CLS
token, learned positions, pre-norm blocks and a final LayerNorm whose patch
tokens are the features. `load_backbone` gives either our own, trained by the
`pretrain-vit` task (artifacts/backbone.pt + backbone.json), or the real DINO
ViT-S/16 through transformers from the local Hugging Face cache.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dltui.errors import UserError

BACKBONE_WEIGHTS = "backbone.pt"
BACKBONE_CONFIG = "backbone.json"
DINO_VITS16 = "facebook/dino-vits16"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Attention(nn.Module):
    """Multi-head self-attention with separate Q, K, V from one C -> 3C projection."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        return q, k, v

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = (t.reshape(b, n, self.heads, c // self.heads).transpose(1, 2)
                   for t in self.split(x))
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class SharedQKAttention(Attention):
    """Self-attention with one C -> 2C projection: q = k = the first half, v = the second.

    The attention map softmax(q q^T / sqrt(d)) is then symmetric before the softmax.
    """

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__(dim, heads)
        self.qkv = nn.Linear(dim, 2 * dim)

    def split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        qk, v = self.qkv(x).chunk(2, dim=-1)
        return qk, qk, v


class Mlp(nn.Sequential):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))


class Block(nn.Module):
    """A pre-norm transformer block: x + attn(LN(x)), then x + mlp(LN(x))."""

    def __init__(self, dim: int, heads: int, mlp_ratio: int = 4, shared_qk: bool = False) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = (SharedQKAttention if shared_qk else Attention)(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, mlp_ratio * dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


@dataclass
class VitShape:
    """The architecture of a SmallViT; saved beside its weights as backbone.json."""

    image_size: int = 32
    patch_size: int = 4
    dim: int = 96
    depth: int = 3
    heads: int = 3
    mlp_ratio: int = 4
    stem: str = "conv"  # "conv": a small convolutional stem; "patch": one strided conv (DINO's)

    @property
    def grid(self) -> int:
        return self.image_size // self.patch_size


def patch_embedding(shape: VitShape) -> nn.Module:
    """Image to a (image_size / patch_size)^2 grid of tokens.

    "patch" is ViT's strided convolution. "conv" halves the resolution
    log2(patch_size) times with conv 3x3, BatchNorm, ReLU and max-pooling
    (16, 32, 64 ... channels), then a 1x1 convolution to the width: early
    convolutions let a ViT learn from a few thousand images in minutes.
    """
    p = shape.patch_size
    if shape.stem == "patch":
        return nn.Conv2d(3, shape.dim, p, stride=p)
    if shape.stem != "conv" or p & (p - 1):
        raise ValueError(f"stem {shape.stem!r} with patch_size {p}: use stem 'patch', or "
                         "'conv' with a power-of-two patch size")
    layers: list[nn.Module] = []
    channels = 3
    for i in range(p.bit_length() - 1):
        out = min(shape.dim, 16 * 2 ** i)
        layers += [nn.Conv2d(channels, out, 3, padding=1), nn.BatchNorm2d(out), nn.ReLU(),
                   nn.MaxPool2d(2)]
        channels = out
    layers.append(nn.Conv2d(channels, shape.dim, 1))
    return nn.Sequential(*layers)


class SmallViT(nn.Module):
    """ViT encoder; `forward` gives all tokens (CLS first) after the final LayerNorm."""

    def __init__(self, shape: VitShape) -> None:
        super().__init__()
        if shape.image_size % shape.patch_size:
            raise ValueError("image_size must be a multiple of patch_size")
        self.shape = shape
        n = shape.grid ** 2
        self.patch_embed = patch_embedding(shape)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, shape.dim))
        self.mask_token = nn.Parameter(torch.zeros(1, 1, shape.dim))
        self.pos_embed = nn.Parameter(torch.randn(1, n + 1, shape.dim) * 0.02)
        self.blocks = nn.ModuleList(Block(shape.dim, shape.heads, shape.mlp_ratio)
                                    for _ in range(shape.depth))
        self.norm = nn.LayerNorm(shape.dim)

    def forward(self, x: torch.Tensor, hide: torch.Tensor | None = None) -> torch.Tensor:
        """Tokens B x (1 + N) x C; `hide` (B x N bool) swaps those patches for a mask token."""
        patches = self.patch_embed(x).flatten(2).transpose(1, 2)
        if hide is not None:
            patches = torch.where(hide[..., None], self.mask_token.to(patches.dtype), patches)
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        tokens = torch.cat([cls, patches], dim=1) + self.pos_embed
        for block in self.blocks:
            tokens = block(tokens)
        return self.norm(tokens)


def to_input(images: np.ndarray | torch.Tensor, mean: tuple[float, ...],
             std: tuple[float, ...], size: int | None = None) -> torch.Tensor:
    """N x H x W x 3 uint8 images as a normalised N x 3 x size x size float tensor."""
    x = torch.as_tensor(images).permute(0, 3, 1, 2).float().div_(255)
    if size is not None and x.shape[-1] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False,
                          antialias=True)
    m = torch.tensor(mean).view(1, 3, 1, 1)
    s = torch.tensor(std).view(1, 3, 1, 1)
    return (x - m) / s


class FrozenBackbone:
    """A ViT without gradients: images in, the CLS token and the patch-token map out."""

    def __init__(self, name: str, encoder: nn.Module, *, dim: int, patch_size: int,
                 image_size: int, mean: tuple[float, ...], std: tuple[float, ...],
                 hugging_face: bool) -> None:
        self.name = name
        self.encoder = encoder.eval().requires_grad_(False)
        self.dim = dim
        self.patch_size = patch_size
        self.image_size = image_size
        self.mean = mean
        self.std = std
        self._hf = hugging_face

    def to(self, device: torch.device) -> FrozenBackbone:
        self.encoder.to(device)
        return self

    @torch.inference_mode()
    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """B x (1 + h*w) x C tokens after the final norm, for normalised input x."""
        if self._hf:
            out = self.encoder(pixel_values=x, interpolate_pos_encoding=True)
            return out.last_hidden_state
        return self.encoder(x)

    @torch.inference_mode()
    def encode(self, images: np.ndarray, *, batch_size: int = 128,
               device: torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(CLS N x C, patch map N x C x h x w) for N x H x W x 3 uint8 images, on the CPU."""
        device = device or torch.device("cpu")
        cls_parts, map_parts = [], []
        for start in range(0, len(images), batch_size):
            x = to_input(images[start:start + batch_size], self.mean, self.std,
                         self.image_size).to(device)
            t = self.tokens(x).float()
            g = self.image_size // self.patch_size
            cls_parts.append(t[:, 0].cpu())
            map_parts.append(t[:, 1:].transpose(1, 2).reshape(len(x), self.dim, g, g).cpu())
        return torch.cat(cls_parts), torch.cat(map_parts)


def save_backbone(model: SmallViT, directory: Path, extra: dict[str, Any]) -> None:
    """Write backbone.pt (state dict) and backbone.json (shape, normalisation, `extra`)."""
    directory.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), directory / BACKBONE_WEIGHTS)
    config = {"kind": "small-vit", "shape": asdict(model.shape),
              "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], **extra}
    (directory / BACKBONE_CONFIG).write_text(json.dumps(config, indent=1) + "\n",
                                             encoding="utf-8")


def load_pretrained_run(run_dir: Path) -> FrozenBackbone:
    """Our SmallViT from a finished pretrain-vit run directory."""
    art = run_dir / "artifacts"
    config_file, weights = art / BACKBONE_CONFIG, art / BACKBONE_WEIGHTS
    if not (config_file.exists() and weights.exists()):
        raise UserError(f"{art} holds no {BACKBONE_WEIGHTS} and {BACKBONE_CONFIG}",
                        fix="point the setting at a finished pretrain-vit run "
                            "(python -m dltui.tasks.pretrain_vit)")
    config = json.loads(config_file.read_text(encoding="utf-8"))
    shape = VitShape(**config["shape"])
    model = SmallViT(shape)
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return FrozenBackbone(f"pretrain-vit:{run_dir.name}", model, dim=shape.dim,
                          patch_size=shape.patch_size, image_size=shape.image_size,
                          mean=tuple(config["mean"]), std=tuple(config["std"]),
                          hugging_face=False)


def weights_missing(what: str, model_id: str, path: str, err: Exception,
                    otherwise: str) -> UserError:
    """The error for pretrained weights found neither in `path` nor in the local Hugging
    Face cache: how to bring them from a machine with network, or `otherwise`."""
    where = f"the directory {path}" if path else "the local Hugging Face cache"
    return UserError(f"{what} weights are not in {where} ({type(err).__name__})",
                     fix=f"on a machine with network run `hf download {model_id}` and copy "
                         "the cache (~/.cache/huggingface/hub, or $HF_HOME/hub) here, or "
                         f"{otherwise}")


def load_dino_vits16(path: str = "", image_size: int = 224) -> FrozenBackbone:
    """DINO ViT-S/16 via transformers, from `path` or the local Hugging Face cache only."""
    from transformers import ViTModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # no bars in the run's log
    source = path or DINO_VITS16
    try:
        model = ViTModel.from_pretrained(source, add_pooling_layer=False, local_files_only=True)
    except (OSError, ValueError) as err:
        raise weights_missing("DINO ViT-S/16", DINO_VITS16, path, err,
                              "save the model with save_pretrained() and pass "
                              "backbone_path=/that/dir (config.json + model.safetensors)"
                              ) from None
    patch = int(getattr(model.config, "patch_size", 16))
    size = max(patch, image_size // patch * patch)
    return FrozenBackbone(source, model, dim=int(model.config.hidden_size),
                          patch_size=patch, image_size=size, mean=IMAGENET_MEAN,
                          std=IMAGENET_STD, hugging_face=True)


def load_backbone(backbone: str, *, run: Any, backbone_run: str = "", backbone_path: str = "",
                  image_size: int = 0) -> FrozenBackbone:
    """`backbone` "pretrain-vit" (a needed run) or "dino-vits16" (local weights)."""
    from dltui.tasks.harness import needed_run

    if backbone == "pretrain-vit":
        return load_pretrained_run(needed_run(run, "pretrain-vit", backbone_run,
                                              setting="backbone_run"))
    if backbone == "dino-vits16":
        return load_dino_vits16(backbone_path, image_size or 224)
    raise UserError(f"unknown backbone {backbone!r}",
                    fix='use backbone = "pretrain-vit" or "dino-vits16"')


def cosine_warmup(step: int, total: int, warmup: int) -> float:
    """Learning-rate factor: linear warm-up, then a cosine decay to zero."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
