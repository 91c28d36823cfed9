"""Segmentation heads on a frozen ViT's patch-token map, and their parameter counts by formula.

Every head maps a B x C x h x w patch map to B x K x h' x w' class logits;
the caller upsamples them bilinearly to the input size.

- linear: a 1x1 convolution, a per-patch linear classifier.
- conv: conv 3x3 C->H, ReLU, 2x bilinear upsampling, conv 3x3 H->H, ReLU, conv 1x1 H->K
  (`upsample=False` keeps it on the patch grid, like the other heads).
- transformer: Segmenter's mask transformer with one block. K learned class
  embeddings join the h*w patch tokens; one pre-norm block (attention, MLP)
  and a LayerNorm; patches and classes each go through a C x C projection and
  are L2-normalised; masks = patches @ classes^T, then a LayerNorm over the K
  classes.
- transformer-shared-qk: the same with one C -> 2C projection for attention,
  q = k = its first half, v = its second half.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dltui.tasks.vit import Block

HEADS = ("linear", "conv", "transformer", "transformer-shared-qk")


class LinearHead(nn.Module):
    def __init__(self, dim: int, classes: int) -> None:
        super().__init__()
        self.classify = nn.Conv2d(dim, classes, 1)

    def forward(self, fmap: torch.Tensor) -> torch.Tensor:
        return self.classify(fmap)


class ConvHead(nn.Module):
    def __init__(self, dim: int, classes: int, hidden: int = 64, upsample: bool = True) -> None:
        super().__init__()
        self.upsample = upsample
        self.conv1 = nn.Conv2d(dim, hidden, 3, padding=1)
        self.conv2 = nn.Conv2d(hidden, hidden, 3, padding=1)
        self.classify = nn.Conv2d(hidden, classes, 1)

    def forward(self, fmap: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(fmap))
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        return self.classify(F.relu(self.conv2(x)))


class MaskTransformerHead(nn.Module):
    """Segmenter's mask transformer (Strudel et al., 2021) with one block of width C."""

    def __init__(self, dim: int, classes: int, heads: int = 4, mlp_ratio: int = 4,
                 shared_qk: bool = False) -> None:
        super().__init__()
        self.classes = classes
        self.cls_emb = nn.Parameter(torch.randn(1, classes, dim) * 0.02)
        self.block = Block(dim, heads, mlp_ratio, shared_qk=shared_qk)
        self.norm = nn.LayerNorm(dim)
        self.proj_patch = nn.Parameter(torch.randn(dim, dim) * dim ** -0.5)
        self.proj_classes = nn.Parameter(torch.randn(dim, dim) * dim ** -0.5)
        self.mask_norm = nn.LayerNorm(classes)

    def forward(self, fmap: torch.Tensor) -> torch.Tensor:
        b, c, h, w = fmap.shape
        patches = fmap.flatten(2).transpose(1, 2)
        x = torch.cat([patches, self.cls_emb.expand(b, -1, -1)], dim=1)
        x = self.norm(self.block(x))
        patches, classes = x[:, :h * w] @ self.proj_patch, x[:, h * w:] @ self.proj_classes
        patches = F.normalize(patches, dim=-1)
        classes = F.normalize(classes, dim=-1)
        masks = self.mask_norm(patches @ classes.transpose(1, 2))
        return masks.transpose(1, 2).reshape(b, self.classes, h, w)


def make_head(name: str, dim: int, classes: int, *, hidden: int = 64,
              heads: int = 4, upsample: bool = True) -> nn.Module:
    if name == "linear":
        return LinearHead(dim, classes)
    if name == "conv":
        return ConvHead(dim, classes, hidden, upsample)
    if name in ("transformer", "transformer-shared-qk"):
        return MaskTransformerHead(dim, classes, heads,
                                   shared_qk=name == "transformer-shared-qk")
    raise ValueError(f"unknown head {name!r}; heads are {', '.join(HEADS)}")


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def head_parameter_formula(name: str, dim: int, classes: int, *, hidden: int = 64,
                           mlp_ratio: int = 4) -> tuple[int, str]:
    """The parameter count of a head by hand, with the formula it comes from."""
    c, k, h = dim, classes, hidden
    if name == "linear":
        return c * k + k, f"1x1 conv: C*K + K = {c}*{k} + {k}"
    if name == "conv":
        n = (9 * c * h + h) + (9 * h * h + h) + (h * k + k)
        return n, (f"(9*C*H + H) + (9*H*H + H) + (H*K + K) with C={c}, H={h}, K={k}")
    if name in ("transformer", "transformer-shared-qk"):
        qkv = 2 if name.endswith("shared-qk") else 3
        m = mlp_ratio * c
        attn = (qkv * c * c + qkv * c) + (c * c + c)
        mlp = (c * m + m) + (m * c + c)
        norms = 3 * 2 * c + 2 * k  # block's two, the final one; the mask norm over K
        n = k * c + attn + mlp + norms + 2 * c * c
        return n, (f"class emb K*C + attention ({qkv}C^2 + {qkv}C) + (C^2 + C) "
                   f"+ MLP (C*{mlp_ratio}C + {mlp_ratio}C) + ({mlp_ratio}C*C + C) "
                   f"+ 3 LayerNorms 6C + 2 projections 2C^2 + mask norm 2K, C={c}, K={k}")
    raise ValueError(f"unknown head {name!r}")
