"""Per-layer arithmetic: each layer kind's output shape and parameter count, with the
formulas behind both written out with the numbers put in.

Shapes are channels-last tuples, as a person writes them: an image is (H, W, C), a
sequence (L, D), a vector (C,). A kind's `infer` takes a parsed `Layer` and the shape
that reaches it and returns an `Outcome`, or raises `LayerProblem` with numbers that
do not fit; `count_parameters` turns that into a `UserError` naming the layer.
"""

from __future__ import annotations

import math
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


def _terms(*terms: str) -> str:
    return " + ".join(t for t in terms if t)


def _need(layer: Layer, shape: Shape, ranks: tuple[int, ...], what: str, fix: str) -> None:
    if len(shape) not in ranks:
        raise LayerProblem(f"{layer.kind} needs {what}, but gets {describe(shape)}", fix)


def _spatial(layer: Layer, shape: Shape) -> tuple[Shape, int, tuple[str, ...]]:
    """The spatial sizes, the channel count and the axis names of an image or sequence."""
    need_2d = layer.kind.endswith("2d") or layer.kind in ("resblock", "bottleneck", "groupnorm")
    need_1d = layer.kind.endswith("1d")
    ranks = (3,) if need_2d else (2,) if need_1d else (2, 3)
    what = ("an image HxWxC" if need_2d else "a sequence LxD (D channels)" if need_1d
            else "an image HxWxC or a sequence LxD")
    fix = "add `flatten` or `grid HxW` to change the shape" if len(shape) != 1 else \
        "spatial layers come before `flatten`"
    _need(layer, shape, ranks, what, fix)
    if len(shape) == 3:
        return shape[:2], shape[2], ("H", "W")
    return shape[:1], shape[1], ("L",)


def _per_dim(layer: Layer, name: str, value: Any, nd: int, default: int) -> tuple[int, ...]:
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


def _join_axes(axes: tuple[str, ...], texts: list[str]) -> str:
    if len(set(texts)) == 1:
        return texts[0]
    return "; ".join(f"{a}: {t}" for a, t in zip(axes, texts, strict=True))


def _channels(layer: Layer, received: int, what: str = "channels") -> int:
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


def _windows(shape: Shape, args: list[tuple[int, int, int, int, int]], *, ceil: bool = False,
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


# -- convolution and pooling -----------------------------------------------------------


def _groups(layer: Layer, cin: int, cout: int) -> int:
    g: int = layer.get("groups", 1)
    for what, c in (("input", cin), ("output", cout)):
        if c % g:
            raise LayerProblem(f"{what} channels {c} are not divisible by groups {g}",
                               "use a number of groups that divides both channel counts")
    return g


def conv(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    sizes, cin, axes = _spatial(layer, shape)
    nd = len(sizes)
    cout = _channels(layer, cin)
    k = _per_dim(layer, "kernel", layer.get("kernel"), nd, 1)
    s = _per_dim(layer, "stride", layer.get("stride"), nd, 1)
    d = _per_dim(layer, "dilation", layer.get("dilation"), nd, 1)
    g = _groups(layer, cin, cout)
    pad = layer.get("padding")
    outs, texts = [], []
    if pad == "same":
        if any(x != 1 for x in s):
            raise LayerProblem(f"padding same needs stride 1, got stride {show(s)}",
                               "give the padding as a number, e.g. padding 1")
        outs, texts = list(sizes), [f"same padding keeps {n}" for n in sizes]
    else:
        p = (0,) * nd if pad in (None, "valid") else _per_dim(layer, "padding", pad, nd, 0)
        outs, texts = _windows(shape, list(zip(sizes, k, s, p, d, strict=True)))
    cin_text = str(cin) if g == 1 else f"({cin}/{g})"
    weights = math.prod(k) * (cin // g) * cout
    params = weights + (cout if layer.bias else 0)
    formula = _terms("*".join(map(str, k)) + f"*{cin_text}*{cout}",
                     str(cout) if layer.bias else "") + f" = {fmt(params)}"
    return Outcome((*outs, cout), params, formula, _join_axes(axes, texts),
                   name=f"conv{nd}d")


def conv_transpose(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    sizes, cin, axes = _spatial(layer, shape)
    nd = len(sizes)
    cout = _channels(layer, cin)
    k = _per_dim(layer, "kernel", layer.get("kernel"), nd, 1)
    s = _per_dim(layer, "stride", layer.get("stride"), nd, 1)
    d = _per_dim(layer, "dilation", layer.get("dilation"), nd, 1)
    p = _per_dim(layer, "padding", layer.get("padding"), nd, 0)
    op = _per_dim(layer, "output_padding", layer.get("output_padding"), nd, 0)
    g = _groups(layer, cin, cout)
    outs, texts = [], []
    for n, kk, ss, pp, dd, oo in zip(sizes, k, s, p, d, op, strict=True):
        if oo >= max(ss, dd):
            raise LayerProblem(f"output_padding {oo} must be smaller than stride {ss} "
                               f"or dilation {dd}", "lower output_padding")
        o = (n - 1) * ss - 2 * pp + dd * (kk - 1) + oo + 1
        span = f"{kk}" if dd == 1 else f"{dd}*({kk} - 1) + 1"
        text = f"({n} - 1)*{ss} - 2*{pp} + {span}" + (f" + {oo}" if oo else "") + f" = {o}"
        if o <= 0:
            raise LayerProblem(f"the output would have size {o}: {text}",
                               "use less padding or a larger stride or kernel")
        outs.append(o)
        texts.append(text)
    params = cin * (cout // g) * math.prod(k) + (cout if layer.bias else 0)
    cout_text = str(cout) if g == 1 else f"({cout}/{g})"
    formula = _terms("*".join(map(str, k)) + f"*{cin}*{cout_text}",
                     str(cout) if layer.bias else "") + f" = {fmt(params)}"
    return Outcome((*outs, cout), params, formula, _join_axes(axes, texts),
                   name=f"convtranspose{nd}d")


def pool(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    sizes, c, axes = _spatial(layer, shape)
    nd = len(sizes)
    k = _per_dim(layer, "kernel", layer.get("kernel"), nd, 1)
    s = _per_dim(layer, "stride", layer.get("stride"), nd, 0) if layer.get("stride") else k
    p = _per_dim(layer, "padding", layer.get("padding"), nd, 0)
    d = _per_dim(layer, "dilation", layer.get("dilation"), nd, 1)
    for pp, kk in zip(p, k, strict=True):
        if pp > kk // 2:
            raise LayerProblem(f"padding {pp} is more than half the pooling window {kk}",
                               f"use padding at most {kk // 2}")
    outs, texts = _windows(shape, list(zip(sizes, k, s, p, d, strict=True)),
                           ceil="ceil" in layer.flags, what="window")
    op = "max" if layer.kind.startswith("max") else "avg"
    return Outcome((*outs, c), 0, "no parameters", _join_axes(axes, texts),
                   name=f"{op}pool{nd}d")


def adaptive_pool(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    sizes, c, axes = _spatial(layer, shape)
    nd = len(sizes)
    out = _per_dim(layer, "size", layer.get("size", 1), nd, 1)
    op = "max" if "max" in layer.kind else "avg"
    text = f"adaptive: {show(sizes)} -> {show(out)}"
    return Outcome((*out, c), 0, "no parameters", text, name=f"adaptive{op}pool{nd}d")


def upsample(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    sizes, c, axes = _spatial(layer, shape)
    nd = len(sizes)
    if layer.get("size") is not None:
        out = _per_dim(layer, "size", layer.get("size"), nd, 1)
        return Outcome((*out, c), 0, "no parameters", f"resized to {show(out)}",
                       name="upsample")
    f = layer.get("factor")
    if f is None:
        raise LayerProblem("upsample needs a scale factor or a size",
                           "write `upsample 2` or `upsample size 28x28` (`upsample x2` "
                           "would repeat the layer)")
    out = tuple(n * f for n in sizes)
    texts = [f"{n}*{f} = {n * f}" for n in sizes]
    return Outcome((*out, c), 0, "no parameters", _join_axes(axes, texts), name="upsample")


# -- normalisation, activations, reshaping --------------------------------------------


def batchnorm(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    c = shape[-1]
    affine = "noaffine" not in layer.flags
    params = 2 * c if affine else 0
    notes = [f"+ 2*{c} running mean and variance (buffers, not parameters)"]
    if len(shape) == 2:
        notes.append(f"normalises each of the {c} features over the batch and the sequence")
    formula = f"2*{c} = {fmt(params)} (scale and shift)" if affine else "no parameters (noaffine)"
    return Outcome(shape, params, formula, buffers=2 * c, notes=notes,
                   name=f"batchnorm{max(1, len(shape) - 1)}d")


def layernorm(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    c = shape[-1]
    if "noaffine" in layer.flags:
        return Outcome(shape, 0, "no parameters (noaffine)", name="layernorm")
    params = 2 * c if layer.bias else c
    formula = (f"2*{c} = {fmt(params)} (scale and shift)" if layer.bias
               else f"{c} = {fmt(params)} (scale)")
    notes = [f"normalises over the {c} channels at each position"] if len(shape) == 3 else []
    return Outcome(shape, params, formula, notes=notes, name="layernorm")


def groupnorm(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    _, c, _ = _spatial(layer, shape)
    g = layer.get("groups")
    if c % g:
        raise LayerProblem(f"{c} channels are not divisible into {g} groups",
                           "use a number of groups that divides the channel count")
    affine = "noaffine" not in layer.flags
    params = 2 * c if affine else 0
    formula = f"2*{c} = {fmt(params)} (scale and shift)" if affine else "no parameters (noaffine)"
    return Outcome(shape, params, formula, name="groupnorm")


def dropout(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    notes = [] if "p" in layer.values else ["p = 0.5 (the default)"]
    return Outcome(shape, 0, "no parameters", notes=notes, name="dropout")


def activation(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    if layer.kind == "prelu":
        n = shape[-1] if "perchannel" in layer.flags else 1
        return Outcome(shape, n, f"{n} = {fmt(n)} (slope)", name="prelu")
    return Outcome(shape, 0, "no parameters", name=layer.kind)


def flatten(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    n = math.prod(shape)
    text = f"{'*'.join(map(str, shape))} = {n}" if len(shape) > 1 else f"{n}"
    declared = layer.get("features")
    if declared is not None and declared != n:
        raise LayerProblem(f"flatten declares {declared} features but {describe(shape)} "
                           f"flattens to {text}",
                           f"write `flatten {n}`, or fix the layers before it")
    return Outcome((n,), 0, "no parameters", text, name="flatten")


def tokens(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    _need(layer, shape, (3,), "an image HxWxC", "tokens turns an image grid into a sequence")
    h, w, c = shape
    return Outcome((h * w, c), 0, "no parameters", f"{h}*{w} = {h * w} tokens of {c}",
                   name="tokens")


def grid(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    _need(layer, shape, (2,), "a sequence LxD", "grid turns a sequence of tokens into an image")
    n, c = shape
    size = layer.get("size")
    if size is None:
        side = math.isqrt(n)
        if side * side != n:
            raise LayerProblem(f"{n} tokens do not make a square grid",
                               "give the grid's size, e.g. `grid HxW` with H*W = " + str(n))
        size = (side, side)
    elif isinstance(size, int):
        size = (size, size)
    if len(size) != 2 or size[0] * size[1] != n:
        raise LayerProblem(f"grid {show(size)} holds {math.prod(size)} tokens but the "
                           f"sequence has {n}", f"use a grid HxW with H*W = {n}")
    return Outcome((size[0], size[1], c), 0, "no parameters",
                   f"{n} = {size[0]}*{size[1]}", name="grid")


def linear(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    if len(shape) == 3:
        h, w, c = shape
        raise LayerProblem(
            f"linear on {describe(shape)} is ambiguous",
            f"add `flatten` before it ({h}*{w}*{c} = {fmt(h * w * c)} features), or use "
            f"`conv OUT 1x1` for a linear layer at every pixel")
    cin = shape[-1]
    cout = _channels(layer, cin, "features")
    params = cin * cout + (cout if layer.bias else 0)
    formula = _terms(f"{cin}*{cout}", str(cout) if layer.bias else "") + f" = {fmt(params)}"
    notes = [f"applied to each of the {shape[0]} tokens"] if len(shape) == 2 else []
    return Outcome((*shape[:-1], cout), params, formula, notes=notes, name="linear")


def embedding(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    _need(layer, shape, (1,), "a vector of L token ids", "an embedding maps token ids to vectors")
    vocab, dim = layer.get("vocab"), layer.get("dim")
    params = vocab * dim
    return Outcome((shape[0], dim), params, f"{vocab}*{dim} = {fmt(params)}",
                   f"{shape[0]} token ids -> {shape[0]}x{dim}", name="embedding")


# -- recurrent layers -------------------------------------------------------------------

GATES = {"lstm": 4, "gru": 3, "rnn": 1}


def _rnn_term(gates: int, cin: int, h: int, bias: bool) -> tuple[int, str]:
    n = gates * (cin * h + h * h + (2 * h if bias else 0))
    inner = _terms(f"{cin}*{h}", f"{h}*{h}", f"2*{h}" if bias else "")
    return n, (f"{gates}*({inner})" if gates > 1 else f"({inner})")


def recurrent(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    cell = layer.kind.replace("cell", "")
    _need(layer, shape, (2,), "a sequence LxD",
          f"for one step on a vector use `{cell}cell`")
    length, d = shape
    h, layers = layer.get("hidden"), layer.get("layers", 1)
    dirs = 2 if "bidirectional" in layer.flags else 1
    total, parts = 0, []
    for i in range(layers):
        n, text = _rnn_term(GATES[cell], d if i == 0 else h * dirs, h, layer.bias)
        total += n * dirs
        parts.append(f"2*{text}" if dirs == 2 else text)
    if layers > 2:  # layers after the first are identical: write them once
        parts = [parts[0], f"{layers - 1}*{parts[1]}"]
    notes = ["torch keeps two bias vectors per gate (input and hidden)"] if layer.bias else []
    shape_text = f"{h}*{dirs} = {h * dirs} features per step" if dirs == 2 else ""
    return Outcome((length, h * dirs), total, " + ".join(parts) + f" = {fmt(total)}",
                   shape_text, notes=notes, name=cell)


def recurrent_cell(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    cell = layer.kind.replace("cell", "")
    _need(layer, shape, (1,), "a vector (one step)", f"for a whole sequence use `{cell}`")
    h = layer.get("hidden")
    n, text = _rnn_term(GATES[cell], shape[0], h, layer.bias)
    return Outcome((h,), n, f"{text} = {fmt(n)}", name=layer.kind)


# -- attention and transformers ------------------------------------------------------


def attention_params(d: int, heads: int, inner: int, *, bias: bool, shared_qk: bool,
                     out_proj: bool = True) -> tuple[int, str, str]:
    """Parameters of multi-head self-attention, its formula and the rank bound of A."""
    if inner % heads:
        raise LayerProblem(f"attention width {inner} is not divisible by {heads} heads",
                           f"use a number of heads that divides {inner}")
    b = bias
    if shared_qk:  # one projection to 2*inner: q = k = first half, v = second half
        proj = d * 2 * inner + (2 * inner if b else 0)
        proj_text = "(" + _terms(f"{d}*{2 * inner}", str(2 * inner) if b else "") + ")"
    else:
        proj = 3 * (d * inner + (inner if b else 0))
        proj_text = "3*(" + _terms(f"{d}*{inner}", str(inner) if b else "") + ")"
    out = inner * d + (d if b else 0) if out_proj else 0
    out_text = "(" + _terms(f"{inner}*{d}", str(d) if b else "") + ")" if out_proj else ""
    dh = inner // heads
    bound = min(d, dh)
    head = f"d_head = {inner}/{heads} = {dh}" if heads > 1 else f"d_head = {dh}"
    rank = (f"A = W_Q W_K^T ({d}x{d} per head): rank(A) <= min(d_model, d_head) = "
            f"min({d}, {dh}) = {bound}, {head}")
    if shared_qk:
        rank += "; with W_Q = W_K, A = W W^T is symmetric positive semi-definite"
    return proj + out, _terms(proj_text, out_text), rank


def attention(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    _need(layer, shape, (2,), "a sequence LxD", "add `tokens` to turn an image into a sequence")
    d = shape[1]
    heads = layer.get("heads", 1)
    inner = layer.get("dim", d)
    params, text, rank = attention_params(
        d, heads, inner, bias=layer.bias, shared_qk="sharedqk" in layer.flags,
        out_proj="noout" not in layer.flags)
    # without the output projection the heads' concatenation (width `inner`) comes out
    out = shape if "noout" not in layer.flags else (shape[0], inner)
    return Outcome(out, params, f"{text} = {fmt(params)}", notes=[rank],
                   name="selfattention")


def transformer(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    _need(layer, shape, (2,), "a sequence LxD", "add `tokens` to turn an image into a sequence")
    d = shape[1]
    heads, ff, b = layer.get("heads", 1), layer.get("ff", 4 * shape[1]), layer.bias
    attn, attn_text, rank = attention_params(d, heads, d, bias=b,
                                             shared_qk="sharedqk" in layer.flags)
    mlp = d * ff + ff * d + ((ff + d) if b else 0)
    norms = 2 * (2 * d if b else d)
    params = attn + mlp + norms
    formula = _terms(
        f"[{attn_text}]",
        "(" + _terms(f"{d}*{ff}", str(ff) if b else "") + ")",
        "(" + _terms(f"{ff}*{d}", str(d) if b else "") + ")",
        f"2*2*{d}" if b else f"2*{d}") + f" = {fmt(params)}"
    notes = [f"self-attention {fmt(attn)} + MLP {d}->{ff}->{d} {fmt(mlp)} "
             f"+ 2 layernorms {fmt(norms)}", rank]
    return Outcome(shape, params, formula, notes=notes,
                   name="transformer")


def additive_attention(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    _need(layer, shape, (2,), "a sequence of features LxF",
          "give the feature grid as LxF, e.g. 49x512")
    length, f = shape
    a, q = layer.get("dim"), layer.get("query")
    if q is None:
        raise LayerProblem("additive attention needs the size of its query",
                           f"add `query H` with the decoder's hidden size, e.g. "
                           f"`additive {a} query 256`")
    params = (f * a + a) + (q * a + a) + (a + 1)
    formula = f"({f}*{a} + {a}) + ({q}*{a} + {a}) + ({a}*1 + 1) = {fmt(params)}"
    notes = [f"scores = Linear({a},1)(relu(W_f f + W_h h)), softmax over the {length} "
             f"positions; returns the weighted sum of the features"]
    return Outcome((f,), params, formula, f"sum over {length} positions -> {f}", notes=notes,
                   name="additiveattention")


def class_tokens(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    _need(layer, shape, (2,), "a sequence LxD", "add `tokens` to turn an image into a sequence")
    k = layer.get("count")
    ctx.class_tokens = k
    n, d = shape
    return Outcome((n + k, d), k * d, f"{k}*{d} = {fmt(k * d)}", f"{n} + {k} = {n + k} tokens",
                   notes=["learnable tokens appended after the sequence"], name="classtokens")


def position_embedding(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    _need(layer, shape, (2,), "a sequence LxD", "add `tokens` to turn an image into a sequence")
    n, d = shape
    return Outcome(shape, n * d, f"{n}*{d} = {fmt(n * d)}", notes=["added to the tokens"],
                   name="posembed")


def masks(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    _need(layer, shape, (2,), "a sequence LxD", "masks follows `classtokens K` and a transformer")
    k = layer.get("count")
    if ctx.class_tokens != k:
        got = f"`classtokens {ctx.class_tokens}`" if ctx.class_tokens else "no `classtokens`"
        raise LayerProblem(f"masks {k} needs {k} class tokens at the end of the sequence, "
                           f"but the layers before it have {got}",
                           f"put `classtokens {k}` earlier in the same part")
    n, d = shape
    proj = "noproj" not in layer.flags
    norm = "nonorm" not in layer.flags
    params = (2 * d * d if proj else 0) + (2 * k if norm else 0)
    formula = _terms(f"2*{d}*{d}" if proj else "", f"2*{k}" if norm else "")
    formula = f"{formula} = {fmt(params)}" if formula else "no parameters"
    ctx.class_tokens = 0
    notes = ["patch tokens times class tokens (each projected, no bias, L2-normalised)"
             + (", then a layernorm over the classes" if norm else "")]
    return Outcome((n - k, k), params, formula, f"{n} - {k} = {n - k} patches x {k} classes",
                   notes=notes, name="masks")


def token_pool(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    _need(layer, shape, (2,), "a sequence LxD", "tokenpool reduces a sequence to one vector")
    how = layer.get("how", "mean")
    return Outcome((shape[1],), 0, "no parameters", f"{how} of {shape[0]} tokens",
                   name="tokenpool")


# -- residual blocks ---------------------------------------------------------------------


def _conv_bn(k: int, cin: int, cout: int) -> tuple[int, str]:
    return k * k * cin * cout + 2 * cout, f"{k}*{k}*{cin}*{cout} + 2*{cout}"


def residual(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    (h, w), cin, axes = _spatial(layer, shape)
    s = layer.get("stride", 1)
    bottleneck = layer.kind == "bottleneck"
    planes = _channels(layer, cin)
    cout = planes * layer.get("expansion", 4) if bottleneck else planes
    down = s != 1 or cin != cout or "downsample" in layer.flags
    if bottleneck:
        parts = [_conv_bn(1, cin, planes), _conv_bn(3, planes, planes), _conv_bn(1, planes, cout)]
        what = f"conv 1x1 {cin}->{planes}, conv 3x3 {planes}->{planes} stride {s}, " \
               f"conv 1x1 {planes}->{cout}, each with batchnorm"
        bns = 2 * planes + cout
    else:
        parts = [_conv_bn(3, cin, cout), _conv_bn(3, cout, cout)]
        what = f"conv 3x3 {cin}->{cout} stride {s}, conv 3x3 {cout}->{cout}, each with batchnorm"
        bns = 2 * cout
    if down:
        parts.append(_conv_bn(1, cin, cout))
        what += f"; downsample conv 1x1 stride {s} + batchnorm on the skip path"
        bns += cout
    params = sum(n for n, _ in parts)
    formula = " + ".join(t for _, t in parts) + f" = {fmt(params)}"
    outs, texts = _windows(shape, [(h, 3, s, 1, 1), (w, 3, s, 1, 1)])
    return Outcome((outs[0], outs[1], cout), params, formula, _join_axes(axes, texts),
                   buffers=2 * bns, notes=[what + " (convs without bias)"],
                   name=layer.kind)


# -- the table of kinds ------------------------------------------------------------------

_CONV_OPTS = {"stride": "dims", "padding": "pads", "dilation": "dims", "groups": "count"}
_POOL_OPTS = {"stride": "dims", "padding": "pads0"}
_ACTIVATIONS = ("relu", "relu6", "leakyrelu", "elu", "selu", "gelu", "silu", "mish",
                "tanh", "sigmoid", "hardswish", "softplus", "softmax", "logsoftmax",
                "identity")

KINDS: dict[str, Kind] = {}


def _add(kind: Kind) -> None:
    KINDS[kind.name] = kind


for _name, _aliases in (("conv", ()), ("conv1d", ()), ("conv2d", ())):
    _add(Kind(_name, conv, f"{_name} OUT KxK [stride S] [padding P|same] [dilation D] "
              "[groups G] [nobias]", (("out", "channels"), ("kernel", "dims")), 2,
              _CONV_OPTS, frozenset({"nobias"}), _aliases))
_add(Kind("convt", conv_transpose, "convt OUT KxK [stride S] [padding P] "
          "[output_padding P] [dilation D] [groups G] [nobias]",
          (("out", "channels"), ("kernel", "dims")), 2,
          {**_CONV_OPTS, "padding": "pads0", "output_padding": "pads0"},
          frozenset({"nobias"}),
          ("convtranspose", "deconv", "tconv", "transposedconv", "upconv", "convt2d")))
for _name in ("maxpool", "maxpool1d", "maxpool2d"):
    _add(Kind(_name, pool, f"{_name} K [stride S] [padding P] [dilation D] [ceil]",
              (("kernel", "dims"),), 1, {**_POOL_OPTS, "dilation": "dims"},
              frozenset({"ceil"}), ("pool",) if _name == "maxpool" else ()))
for _name in ("avgpool", "avgpool1d", "avgpool2d"):
    _add(Kind(_name, pool, f"{_name} K [stride S] [padding P] [ceil]",
              (("kernel", "dims"),), 1, _POOL_OPTS, frozenset({"ceil"})))
_add(Kind("adaptiveavgpool", adaptive_pool, "adaptiveavgpool HxW (default 1: global)",
          (("size", "dims"),), 0, aliases=("adaptivepool", "gap", "globalavgpool")))
_add(Kind("adaptivemaxpool", adaptive_pool, "adaptivemaxpool HxW",
          (("size", "dims"),), 0, aliases=("globalmaxpool",)))
_add(Kind("upsample", upsample, "upsample F | upsample size HxW (F: the scale factor)",
          (("factor", "count"),), 0, {"size": "dims"}, aliases=("interpolate",)))
_add(Kind("batchnorm", batchnorm, "batchnorm [noaffine]", flags=frozenset({"noaffine"}),
          aliases=("bn", "batchnorm1d", "batchnorm2d")))
_add(Kind("layernorm", layernorm, "layernorm [nobias] [noaffine]",
          flags=frozenset({"nobias", "noaffine"}), aliases=("ln",)))
_add(Kind("groupnorm", groupnorm, "groupnorm G [noaffine]", (("groups", "count"),), 1,
          flags=frozenset({"noaffine"}), aliases=("gn",)))
_add(Kind("dropout", dropout, "dropout [P] (default 0.5)", (("p", "prob"),), 0,
          {"p": "prob"}, aliases=("dropout1d", "dropout2d", "drop")))
for _name in _ACTIVATIONS:
    _add(Kind(_name, activation, _name, aliases={
        "silu": ("swish",), "leakyrelu": ("lrelu",), "identity": ("noop",)}.get(_name, ())))
_add(Kind("prelu", activation, "prelu [perchannel]", flags=frozenset({"perchannel"})))
_add(Kind("flatten", flatten, "flatten [N] (N: the features it must give)",
          (("features", "count"),), 0))
_add(Kind("tokens", tokens, "tokens (HxWxC -> (H*W)xC)", aliases=("totokens", "seq")))
_add(Kind("grid", grid, "grid [HxW] ((H*W)xC -> HxWxC)", (("size", "dims"),), 0,
          aliases=("ungrid", "togrid")))
_add(Kind("linear", linear, "linear OUT | linear IN->OUT [nobias]",
          (("out", "channels"),), 1, flags=frozenset({"nobias"}),
          aliases=("fc", "dense")))
_add(Kind("embedding", embedding, "embedding VOCAB DIM", (("vocab", "count"),
          ("dim", "count")), 2, aliases=("embed", "emb")))
for _name in ("lstm", "gru", "rnn"):
    _add(Kind(_name, recurrent, f"{_name} HIDDEN [layers N] [bidirectional] [nobias]",
              (("hidden", "count"),), 1, {"layers": "count"},
              frozenset({"bidirectional", "nobias"})))
    _add(Kind(_name + "cell", recurrent_cell, f"{_name}cell HIDDEN [nobias]",
              (("hidden", "count"),), 1, flags=frozenset({"nobias"})))
_add(Kind("attention", attention, "attention [HEADS] [dim E] [sharedqk] [nobias] [noout]",
          (("heads", "count"),), 0, {"heads": "count", "dim": "count"},
          frozenset({"sharedqk", "nobias", "noout"}),
          ("mha", "selfattention", "multiheadattention", "attn")))
_add(Kind("transformer", transformer, "transformer [HEADS] [ff F] [sharedqk] [nobias]",
          (("heads", "count"),), 0, {"heads": "count", "ff": "count"},
          frozenset({"sharedqk", "nobias"}),
          ("encoder", "transformerblock", "encoderblock", "block")))
_add(Kind("additive", additive_attention, "additive A query H",
          (("dim", "count"),), 1, {"query": "count"},
          aliases=("additiveattention", "bahdanau")))
_add(Kind("classtokens", class_tokens, "classtokens K", (("count", "count"),), 1,
          aliases=("cls", "clstokens", "classembed")))
_add(Kind("posembed", position_embedding, "posembed", aliases=("posembedding", "pos")))
_add(Kind("masks", masks, "masks K [noproj] [nonorm]", (("count", "count"),), 1,
          flags=frozenset({"noproj", "nonorm"})))
_add(Kind("tokenpool", token_pool, "tokenpool [mean|max|first|last]",
          (("how", "choice:mean,max,first,last"),), 0))
_add(Kind("resblock", residual, "resblock OUT [stride S] [downsample]",
          (("out", "channels"),), 1, {"stride": "count"}, frozenset({"downsample"}),
          ("basicblock", "residual", "res")))
_add(Kind("bottleneck", residual, "bottleneck PLANES [stride S] [expansion E] [downsample]",
          (("out", "channels"),), 1, {"stride": "count", "expansion": "count"},
          frozenset({"downsample"})))

ALIASES: dict[str, str] = {a: k.name for k in KINDS.values() for a in (k.name, *k.aliases)}
