"""The everyday layers: normalisation, activations, dropout, reshaping (flatten,
tokens, grid), linear and embedding."""

from __future__ import annotations

import math

from dltui.params.layers_common import (
    Context,
    Layer,
    LayerProblem,
    Outcome,
    Shape,
    describe,
    fmt,
    output_channels,
    require_rank,
    show,
    split_spatial,
    sum_terms,
)


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
    _, c, _ = split_spatial(layer, shape)
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
    require_rank(layer, shape, (3,), "an image HxWxC", "tokens turns an image grid into a sequence")
    h, w, c = shape
    return Outcome((h * w, c), 0, "no parameters", f"{h}*{w} = {h * w} tokens of {c}",
                   name="tokens")


def grid(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    require_rank(layer, shape, (2,), "a sequence LxD",
                 "grid turns a sequence of tokens into an image")
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
    cout = output_channels(layer, cin, "features")
    params = cin * cout + (cout if layer.bias else 0)
    formula = sum_terms(f"{cin}*{cout}", str(cout) if layer.bias else "") + f" = {fmt(params)}"
    notes = [f"applied to each of the {shape[0]} tokens"] if len(shape) == 2 else []
    return Outcome((*shape[:-1], cout), params, formula, notes=notes, name="linear")


def embedding(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    require_rank(layer, shape, (1,), "a vector of L token ids",
                 "an embedding maps token ids to vectors")
    vocab, dim = layer.get("vocab"), layer.get("dim")
    params = vocab * dim
    return Outcome((shape[0], dim), params, f"{vocab}*{dim} = {fmt(params)}",
                   f"{shape[0]} token ids -> {shape[0]}x{dim}", name="embedding")
