"""Convolution, transposed convolution, pooling and upsampling: output shapes and
parameter counts, with the window arithmetic written out."""

from __future__ import annotations

import math

from dltui.params.layers_common import (
    Context,
    Layer,
    LayerProblem,
    Outcome,
    Shape,
    fmt,
    join_axes,
    output_channels,
    per_dim,
    show,
    split_spatial,
    sum_terms,
    window_shapes,
)


def _groups(layer: Layer, cin: int, cout: int) -> int:
    g: int = layer.get("groups", 1)
    for what, c in (("input", cin), ("output", cout)):
        if c % g:
            raise LayerProblem(f"{what} channels {c} are not divisible by groups {g}",
                               "use a number of groups that divides both channel counts")
    return g


def _kernel_settings(layer: Layer, shape: Shape) -> tuple[
        Shape, int, tuple[str, ...], int, int, Shape, Shape, Shape, int]:
    """What every convolution reads: spatial sizes, channels in, axes, dimensions,
    channels out, kernel, stride, dilation and groups."""
    sizes, cin, axes = split_spatial(layer, shape)
    nd = len(sizes)
    cout = output_channels(layer, cin)
    k = per_dim(layer, "kernel", layer.get("kernel"), nd, 1)
    s = per_dim(layer, "stride", layer.get("stride"), nd, 1)
    d = per_dim(layer, "dilation", layer.get("dilation"), nd, 1)
    return sizes, cin, axes, nd, cout, k, s, d, _groups(layer, cin, cout)


def conv(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    sizes, cin, axes, nd, cout, k, s, d, g = _kernel_settings(layer, shape)
    pad = layer.get("padding")
    outs, texts = [], []
    if pad == "same":
        if any(x != 1 for x in s):
            raise LayerProblem(f"padding same needs stride 1, got stride {show(s)}",
                               "give the padding as a number, e.g. padding 1")
        outs, texts = list(sizes), [f"same padding keeps {n}" for n in sizes]
    else:
        p = (0,) * nd if pad in (None, "valid") else per_dim(layer, "padding", pad, nd, 0)
        outs, texts = window_shapes(shape, list(zip(sizes, k, s, p, d, strict=True)))
    cin_text = str(cin) if g == 1 else f"({cin}/{g})"
    weights = math.prod(k) * (cin // g) * cout
    return _kernel_outcome(layer, k, f"{cin_text}*{cout}", weights, (*outs, cout),
                           join_axes(axes, texts), f"conv{nd}d")


def _kernel_outcome(layer: Layer, kernel: tuple[int, ...], channels: str, weights: int,
                    out: Shape, axes_text: str, name: str) -> Outcome:
    """A convolution's outcome: its kernel's weights (`k*k*channels`) and a bias per output
    channel, with the formula that says so."""
    cout = out[-1]
    params = weights + (cout if layer.bias else 0)
    formula = sum_terms("*".join(map(str, kernel)) + f"*{channels}",
                        str(cout) if layer.bias else "") + f" = {fmt(params)}"
    return Outcome(out, params, formula, axes_text, name=name)


def conv_transpose(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    sizes, cin, axes, nd, cout, k, s, d, g = _kernel_settings(layer, shape)
    p = per_dim(layer, "padding", layer.get("padding"), nd, 0)
    op = per_dim(layer, "output_padding", layer.get("output_padding"), nd, 0)
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
    cout_text = str(cout) if g == 1 else f"({cout}/{g})"
    return _kernel_outcome(layer, k, f"{cin}*{cout_text}", cin * (cout // g) * math.prod(k),
                           (*outs, cout), join_axes(axes, texts), f"convtranspose{nd}d")


def pool(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    sizes, c, axes = split_spatial(layer, shape)
    nd = len(sizes)
    k = per_dim(layer, "kernel", layer.get("kernel"), nd, 1)
    s = per_dim(layer, "stride", layer.get("stride"), nd, 0) if layer.get("stride") else k
    p = per_dim(layer, "padding", layer.get("padding"), nd, 0)
    d = per_dim(layer, "dilation", layer.get("dilation"), nd, 1)
    for pp, kk in zip(p, k, strict=True):
        if pp > kk // 2:
            raise LayerProblem(f"padding {pp} is more than half the pooling window {kk}",
                               f"use padding at most {kk // 2}")
    outs, texts = window_shapes(shape, list(zip(sizes, k, s, p, d, strict=True)),
                                ceil="ceil" in layer.flags, what="window")
    op = "max" if layer.kind.startswith("max") else "avg"
    return Outcome((*outs, c), 0, "no parameters", join_axes(axes, texts),
                   name=f"{op}pool{nd}d")


def adaptive_pool(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    sizes, c, axes = split_spatial(layer, shape)
    nd = len(sizes)
    out = per_dim(layer, "size", layer.get("size", 1), nd, 1)
    op = "max" if "max" in layer.kind else "avg"
    text = f"adaptive: {show(sizes)} -> {show(out)}"
    return Outcome((*out, c), 0, "no parameters", text, name=f"adaptive{op}pool{nd}d")


def upsample(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    sizes, c, axes = split_spatial(layer, shape)
    nd = len(sizes)
    if layer.get("size") is not None:
        out = per_dim(layer, "size", layer.get("size"), nd, 1)
        return Outcome((*out, c), 0, "no parameters", f"resized to {show(out)}",
                       name="upsample")
    f = layer.get("factor")
    if f is None:
        raise LayerProblem("upsample needs a scale factor or a size",
                           "write `upsample 2` or `upsample size 28x28` (`upsample x2` "
                           "would repeat the layer)")
    out = tuple(n * f for n in sizes)
    texts = [f"{n}*{f} = {n * f}" for n in sizes]
    return Outcome((*out, c), 0, "no parameters", join_axes(axes, texts), name="upsample")
