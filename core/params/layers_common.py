"""What every layer kind works with, and the helpers the families of kinds share.

Shapes are channels-last tuples, as a person writes them: an image is (H, W, C), a
sequence (L, D), a vector (C,). A kind's `infer` takes a parsed `Layer` and the shape
that reaches it and returns an `Outcome`, or raises `LayerProblem` with numbers that
do not fit; `count_parameters` turns that into a `UserError` naming the layer.
The kinds themselves are in the `layers_*` modules, their table in `layers`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Shape = tuple[int, ...]


class LayerProblem(Exception):
    """A layer that cannot take the shape it is given; the caller adds which layer."""

    def __init__(self, problem: str, fix: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix


@dataclass(frozen=True)
class Layer:
    """One parsed layer: its kind, its arguments by name and its flags."""

    label: str  # its position in the spec: "3", or "5.2" for the 2nd copy of a repeat
    text: str  # as typed, for messages and tables
    kind: str  # canonical kind name
    values: Mapping[str, Any]
    flags: frozenset[str] = frozenset()
    repeat_of: str = ""  # the typed text of the repeat (`x2`) or group it came from

    @property
    def frozen(self) -> bool:
        return "frozen" in self.flags

    @property
    def bias(self) -> bool:
        return "nobias" not in self.flags

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)


@dataclass
class Outcome:
    shape: Shape
    params: int = 0
    formula: str = ""
    shape_formula: str = ""
    buffers: int = 0  # non-trainable state saved with the model (batchnorm statistics)
    notes: list[str] = field(default_factory=list)
    name: str = ""  # the resolved kind, e.g. conv2d for `conv` on an image


@dataclass
class Context:
    """What a layer may need from the layers before it in the same part."""

    class_tokens: int = 0


Infer = Callable[[Layer, Shape, Context], Outcome]


@dataclass(frozen=True)
class Kind:
    name: str
    infer: Infer
    usage: str  # one line for docs and "did you mean"
    positional: tuple[tuple[str, str], ...] = ()  # (name, value type) in order
    required: int = 0
    options: Mapping[str, str] = field(default_factory=dict)  # name -> value type
    flags: frozenset[str] = frozenset()
    aliases: tuple[str, ...] = ()


# -- small helpers -------------------------------------------------------------------


def fmt(n: int) -> str:
    return f"{n:,}"


def show(shape: Shape) -> str:
    return "x".join(str(d) for d in shape)


def describe(shape: Shape) -> str:
    kind = {1: "vector", 2: "sequence", 3: "image"}[len(shape)]
    return f"the {kind} {show(shape)}"


def sum_terms(*terms: str) -> str:
    return " + ".join(t for t in terms if t)


def require_rank(layer: Layer, shape: Shape, ranks: tuple[int, ...], what: str, fix: str) -> None:
    if len(shape) not in ranks:
        raise LayerProblem(f"{layer.kind} needs {what}, but gets {describe(shape)}", fix)


def split_spatial(layer: Layer, shape: Shape) -> tuple[Shape, int, tuple[str, ...]]:
    """The spatial sizes, the channel count and the axis names of an image or sequence."""
    need_2d = layer.kind.endswith("2d") or layer.kind in ("resblock", "bottleneck", "groupnorm")
    need_1d = layer.kind.endswith("1d")
    ranks = (3,) if need_2d else (2,) if need_1d else (2, 3)
    what = ("an image HxWxC" if need_2d else "a sequence LxD (D channels)" if need_1d
            else "an image HxWxC or a sequence LxD")
    fix = "add `flatten` or `grid HxW` to change the shape" if len(shape) != 1 else \
        "spatial layers come before `flatten`"
    require_rank(layer, shape, ranks, what, fix)
    if len(shape) == 3:
        return shape[:2], shape[2], ("H", "W")
    return shape[:1], shape[1], ("L",)


def per_dim(layer: Layer, name: str, value: Any, nd: int, default: int) -> tuple[int, ...]:
    if value is None:
        return (default,) * nd
    dims = (value,) if isinstance(value, int) else tuple(value)
    if len(dims) == 1:
        return dims * nd
    if len(dims) != nd:
        raise LayerProblem(
            f"{name} {show(dims)} has {len(dims)} sizes but the input has {nd} spatial "
            f"dimension{'s' if nd > 1 else ''}",
            f"give one size per dimension, e.g. {name} {show((dims[0],) * nd)}")
    return dims


def join_axes(axes: tuple[str, ...], texts: list[str]) -> str:
    if len(set(texts)) == 1:
        return texts[0]
    return "; ".join(f"{a}: {t}" for a, t in zip(axes, texts, strict=True))


def output_channels(layer: Layer, received: int, what: str = "channels") -> int:
    declared, out = layer.get("out")
    if declared is not None and declared != received:
        raise LayerProblem(
            f"{layer.kind} declares {declared} input {what} but receives {received}",
            f"write `{layer.text.split()[0]} {received}->{out} ...`, or fix the layer before it")
    return int(out)


def window_size(n: int, k: int, s: int, p: int, d: int, *, ceil: bool = False,
                what: str = "kernel") -> tuple[int, str]:
    """Output length of a convolution or pooling window and the arithmetic behind it."""
    span = d * (k - 1) + 1
    num = n + 2 * p - span
    padded = f"{n}" + (f" + 2*{p}" if p else "")
    if num < 0:
        dil = f" (dilated to {span})" if d > 1 else ""
        pad = f" plus padding 2*{p} = {n + 2 * p}" if p else ""
        raise LayerProblem(
            f"{what} {k}{dil} is larger than its input {n}{pad}",
            f"use a smaller {what}, add padding, or remove a downsampling layer before it")
    expr = f"{padded} - {k}" if d == 1 else f"{padded} - {d}*({k} - 1) - 1"
    if ceil:
        out = -(-num // s) + 1
        if (out - 1) * s >= n + p:  # torch: the last window must start inside the input
            out -= 1
        text = f"({expr})/{s} + 1" if num % s == 0 else f"ceil(({expr})/{s}) + 1"
        if out != -(-num // s) + 1:
            text += " - 1 (last window would start in the padding)"
    else:
        out = num // s + 1
        text = f"({expr})/{s} + 1" if num % s == 0 else f"floor(({expr})/{s}) + 1"
    return out, f"{text} = {out}"


def window_shapes(shape: Shape, args: list[tuple[int, int, int, int, int]], *, ceil: bool = False,
                  what: str = "kernel") -> tuple[list[int], list[str]]:
    """`window_size` along each spatial axis; a problem names the whole input shape."""
    outs, texts = [], []
    try:
        for n, k, s, p, d in args:
            o, t = window_size(n, k, s, p, d, ceil=ceil, what=what)
            outs.append(o)
            texts.append(t)
    except LayerProblem as exc:
        raise LayerProblem(f"{exc.problem} (it receives {describe(shape)})", exc.fix) from None
    return outs, texts
