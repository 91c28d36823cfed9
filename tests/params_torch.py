"""Build a parsed spec as real torch modules, one per layer, to check the calculator.

Tensors between layers are in torch's own layout: an image (H, W, C) is N x C x H x W,
a sequence (L, D) is N x L x D, a vector (C,) is N x C.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.resnet import BasicBlock, Bottleneck

from dltui.params import Architecture, Layer

Shape = tuple[int, ...]


class Lambda(nn.Module):
    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)


class ChannelsFirst(nn.Module):
    """Run a 1-d module over a sequence: N x L x D -> N x D x L -> module -> back."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x.transpose(1, 2)).transpose(1, 2)


class ChannelsLast(nn.Module):
    """Run a module over the channels of an image: N x C x H x W -> N x H x W x C -> back."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class SelfAttention(nn.Module):
    """Multi-head self-attention with any width, optionally one shared q = k projection."""

    def __init__(self, d: int, heads: int, inner: int, *, bias: bool, shared_qk: bool,
                 out_proj: bool) -> None:
        super().__init__()
        self.heads, self.inner, self.shared_qk = heads, inner, shared_qk
        self.qkv = nn.Linear(d, (2 if shared_qk else 3) * inner, bias=bias)
        self.out = nn.Linear(inner, d, bias=bias) if out_proj else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, length, _ = x.shape
        if self.shared_qk:
            qk, v = self.qkv(x).chunk(2, dim=-1)
            q = k = qk
        else:
            q, k, v = self.qkv(x).chunk(3, dim=-1)
        q, k, v = (t.reshape(n, length, self.heads, -1).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(n, length, -1)
        return self.out(y)


class SharedQKBlock(nn.Module):
    """A post-norm encoder block like nn.TransformerEncoderLayer, with shared q = k."""

    def __init__(self, d: int, heads: int, ff: int, *, bias: bool) -> None:
        super().__init__()
        self.attn = SelfAttention(d, heads, d, bias=bias, shared_qk=True, out_proj=True)
        self.mlp = nn.Sequential(nn.Linear(d, ff, bias=bias), nn.ReLU(),
                                 nn.Linear(ff, d, bias=bias))
        self.norm1 = nn.LayerNorm(d, bias=bias)
        self.norm2 = nn.LayerNorm(d, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm1(x + self.attn(x))
        return self.norm2(x + self.mlp(x))


class AdditiveAttention(nn.Module):
    def __init__(self, features: int, dim: int, query: int) -> None:
        super().__init__()
        self.query = query
        self.feature_proj = nn.Linear(features, dim)
        self.query_proj = nn.Linear(query, dim)
        self.score = nn.Linear(dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.zeros(x.shape[0], self.query)
        e = self.score(torch.relu(self.feature_proj(x) + self.query_proj(h)[:, None]))
        return (torch.softmax(e, dim=1) * x).sum(dim=1)


class ClassTokens(nn.Module):
    def __init__(self, k: int, d: int) -> None:
        super().__init__()
        self.tokens = nn.Parameter(torch.zeros(1, k, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.tokens.expand(x.shape[0], -1, -1)], dim=1)


class PositionEmbedding(nn.Module):
    def __init__(self, length: int, d: int) -> None:
        super().__init__()
        self.pos = nn.Parameter(torch.zeros(1, length, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pos


class Masks(nn.Module):
    """Segmenter's mask head: projected patches times projected class tokens."""

    def __init__(self, k: int, d: int, *, proj: bool, norm: bool) -> None:
        super().__init__()
        self.k = k
        self.proj_patch = nn.Parameter(torch.eye(d)) if proj else None
        self.proj_classes = nn.Parameter(torch.eye(d)) if proj else None
        self.norm = nn.LayerNorm(k) if norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        patches, classes = x[:, :-self.k], x[:, -self.k:]
        if self.proj_patch is not None and self.proj_classes is not None:
            patches, classes = patches @ self.proj_patch, classes @ self.proj_classes
        patches, classes = F.normalize(patches, dim=-1), F.normalize(classes, dim=-1)
        return self.norm(patches @ classes.transpose(1, 2))


ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU, "relu6": nn.ReLU6, "leakyrelu": nn.LeakyReLU, "elu": nn.ELU,
    "selu": nn.SELU, "gelu": nn.GELU, "silu": nn.SiLU, "mish": nn.Mish, "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid, "hardswish": nn.Hardswish, "softplus": nn.Softplus,
    "identity": nn.Identity,
}


def _pair(value: object, nd: int, default: int) -> tuple[int, ...]:
    if value is None:
        return (default,) * nd
    dims = (value,) if isinstance(value, int) else tuple(value)  # type: ignore[arg-type]
    return dims * nd if len(dims) == 1 else dims


def _spatial(module: nn.Module, shape: Shape) -> nn.Module:
    return module if len(shape) == 3 else ChannelsFirst(module)


def build_layer(layer: Layer, shape: Shape) -> nn.Module:  # noqa: C901 - one branch a kind
    """The torch module for one layer receiving `shape` (channels-last, as the spec says)."""
    k, v, bias = layer.kind, layer.values, layer.bias
    nd = len(shape) - 1
    c = shape[-1]
    if k in ("conv", "conv1d", "conv2d", "convt"):
        out = v["out"][1]
        kernel = _pair(v["kernel"], nd, 1)
        common = dict(stride=_pair(v.get("stride"), nd, 1),
                      dilation=_pair(v.get("dilation"), nd, 1), groups=v.get("groups", 1),
                      bias=bias)
        if k == "convt":
            cls = nn.ConvTranspose2d if nd == 2 else nn.ConvTranspose1d
            return _spatial(cls(c, out, kernel, padding=_pair(v.get("padding"), nd, 0),
                                output_padding=_pair(v.get("output_padding"), nd, 0),
                                **common), shape)
        pad = v.get("padding")
        padding = pad if pad in ("same", "valid") else _pair(pad, nd, 0)
        cls = nn.Conv2d if nd == 2 else nn.Conv1d
        return _spatial(cls(c, out, kernel, padding=padding, **common), shape)
    if k.startswith(("maxpool", "avgpool")):
        kernel = _pair(v["kernel"], nd, 1)
        stride = _pair(v.get("stride"), nd, 1) if v.get("stride") else kernel
        padding = _pair(v.get("padding"), nd, 0)
        ceil = "ceil" in layer.flags
        if k.startswith("max"):
            cls = nn.MaxPool2d if nd == 2 else nn.MaxPool1d
            m = cls(kernel, stride, padding, dilation=_pair(v.get("dilation"), nd, 1),
                    ceil_mode=ceil)
        else:
            cls = nn.AvgPool2d if nd == 2 else nn.AvgPool1d
            m = cls(kernel, stride, padding, ceil_mode=ceil)
        return _spatial(m, shape)
    if k.startswith("adaptive"):
        size = _pair(v.get("size", 1), nd, 1)
        table = {("max", 2): nn.AdaptiveMaxPool2d, ("max", 1): nn.AdaptiveMaxPool1d,
                 ("avg", 2): nn.AdaptiveAvgPool2d, ("avg", 1): nn.AdaptiveAvgPool1d}
        return _spatial(table["max" if "max" in k else "avg", nd](size), shape)
    if k == "upsample":
        if v.get("size") is not None:
            return _spatial(nn.Upsample(size=_pair(v["size"], nd, 1)), shape)
        return _spatial(nn.Upsample(scale_factor=float(v["factor"])), shape)
    if k == "batchnorm":
        affine = "noaffine" not in layer.flags
        if len(shape) == 3:
            return nn.BatchNorm2d(c, affine=affine)
        bn = nn.BatchNorm1d(c, affine=affine)
        return bn if len(shape) == 1 else ChannelsFirst(bn)
    if k == "layernorm":
        ln = nn.LayerNorm(c, elementwise_affine="noaffine" not in layer.flags, bias=bias)
        return ChannelsLast(ln) if len(shape) == 3 else ln
    if k == "groupnorm":
        return nn.GroupNorm(v["groups"], c, affine="noaffine" not in layer.flags)
    if k == "dropout":
        return nn.Dropout(v.get("p", 0.5))
    if k in ACTIVATIONS:
        return ACTIVATIONS[k]()
    if k in ("softmax", "logsoftmax"):
        cls = nn.Softmax if k == "softmax" else nn.LogSoftmax
        return cls(dim=1 if len(shape) == 3 else -1)
    if k == "prelu":
        if "perchannel" not in layer.flags:
            return nn.PReLU()
        return ChannelsFirst(nn.PReLU(c)) if len(shape) == 2 else nn.PReLU(c)
    if k == "flatten":
        return nn.Flatten()
    if k == "tokens":
        return Lambda(lambda x: x.flatten(2).transpose(1, 2))
    if k == "grid":
        length = shape[0]
        size = v.get("size") or int(length ** 0.5)
        h, w = (size, size) if isinstance(size, int) else size
        return Lambda(lambda x: x.transpose(1, 2).reshape(x.shape[0], c, h, w))
    if k == "linear":
        return nn.Linear(c, v["out"][1], bias=bias)
    if k == "embedding":
        emb = nn.Embedding(v["vocab"], v["dim"])
        return nn.Sequential(Lambda(lambda x: x.long().abs() % v["vocab"]), emb)
    if k in ("lstm", "gru", "rnn"):
        cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[k]
        rnn = cls(c, v["hidden"], num_layers=v.get("layers", 1), bias=bias, batch_first=True,
                  bidirectional="bidirectional" in layer.flags)
        wrap = nn.Sequential(rnn)
        wrap.forward = lambda x: rnn(x)[0]  # type: ignore[method-assign]
        return wrap
    if k in ("lstmcell", "grucell", "rnncell"):
        cls = {"lstmcell": nn.LSTMCell, "grucell": nn.GRUCell, "rnncell": nn.RNNCell}[k]
        cell = cls(c, v["hidden"], bias=bias)
        wrap = nn.Sequential(cell)
        if k == "lstmcell":
            wrap.forward = lambda x: cell(x)[0]  # type: ignore[method-assign]
        return wrap
    if k == "attention":
        heads, inner = v.get("heads", 1), v.get("dim", c)
        shared, out_proj = "sharedqk" in layer.flags, "noout" not in layer.flags
        if inner == c and not shared and out_proj:
            mha = nn.MultiheadAttention(c, heads, bias=bias, batch_first=True)
            wrap = nn.Sequential(mha)
            wrap.forward = lambda x: mha(x, x, x, need_weights=False)[0]  # type: ignore
            return wrap
        return SelfAttention(c, heads, inner, bias=bias, shared_qk=shared, out_proj=out_proj)
    if k == "transformer":
        heads, ff = v.get("heads", 1), v.get("ff", 4 * c)
        if "sharedqk" in layer.flags:
            return SharedQKBlock(c, heads, ff, bias=bias)
        return nn.TransformerEncoderLayer(c, heads, ff, dropout=0.0, batch_first=True,
                                          bias=bias)
    if k == "additive":
        return AdditiveAttention(c, v["dim"], v["query"])
    if k == "classtokens":
        return ClassTokens(v["count"], c)
    if k == "posembed":
        return PositionEmbedding(shape[0], c)
    if k == "masks":
        return Masks(v["count"], c, proj="noproj" not in layer.flags,
                     norm="nonorm" not in layer.flags)
    if k == "tokenpool":
        how = v.get("how", "mean")
        fns = {"mean": lambda x: x.mean(1), "max": lambda x: x.amax(1),
               "first": lambda x: x[:, 0], "last": lambda x: x[:, -1]}
        return Lambda(fns[how])
    if k in ("resblock", "bottleneck"):
        planes, stride = v["out"][1], v.get("stride", 1)
        block = BasicBlock if k == "resblock" else Bottleneck
        out = planes * block.expansion
        down = None
        if stride != 1 or c != out or "downsample" in layer.flags:
            down = nn.Sequential(nn.Conv2d(c, out, 1, stride, bias=False), nn.BatchNorm2d(out))
        return block(c, planes, stride, down)
    raise NotImplementedError(k)


def to_shape(x: torch.Tensor) -> Shape:
    """A torch tensor's per-sample shape written channels-last, as the spec writes it."""
    dims = tuple(x.shape[1:])
    return (dims[1], dims[2], dims[0]) if len(dims) == 3 else dims


def sample(shape: Shape, batch: int = 2) -> torch.Tensor:
    if len(shape) == 3:
        h, w, c = shape
        return torch.randn(batch, c, h, w)
    return torch.randn(batch, *shape)


def run_architecture(arch: Architecture, batch: int = 2) -> list[tuple[Layer, int, int, Shape]]:
    """(layer, parameters, buffers, output shape) of each layer, measured with torch.

    Buffers leave out batchnorm's `num_batches_tracked` counter.
    """
    torch.manual_seed(0)
    measured = []
    for part in arch.parts:
        shape = part.input_shape
        x = sample(shape, batch)
        for layer in part.layers:
            module = build_layer(layer, shape).eval()
            with torch.no_grad():
                x = module(x)
            params = sum(p.numel() for p in module.parameters())
            buffers = sum(b.numel() for name, b in module.named_buffers()
                          if not name.endswith("num_batches_tracked"))
            shape = to_shape(x)
            measured.append((layer, params, buffers, shape))
    return measured
