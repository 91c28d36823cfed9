"""Layers over sequences: recurrent layers and cells, attention, transformer blocks,
and the token layers around them (class tokens, position embedding, masks, pooling)."""

from __future__ import annotations

from dltui.params.layers_common import (
    Context,
    Layer,
    LayerProblem,
    Outcome,
    Shape,
    fmt,
    require_rank,
    sum_terms,
)

# -- recurrent layers -------------------------------------------------------------------

GATES = {"lstm": 4, "gru": 3, "rnn": 1}


def _rnn_term(gates: int, cin: int, h: int, bias: bool) -> tuple[int, str]:
    n = gates * (cin * h + h * h + (2 * h if bias else 0))
    inner = sum_terms(f"{cin}*{h}", f"{h}*{h}", f"2*{h}" if bias else "")
    return n, (f"{gates}*({inner})" if gates > 1 else f"({inner})")


def recurrent(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    cell = layer.kind.replace("cell", "")
    require_rank(layer, shape, (2,), "a sequence LxD",
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
    require_rank(layer, shape, (1,), "a vector (one step)", f"for a whole sequence use `{cell}`")
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
        proj_text = "(" + sum_terms(f"{d}*{2 * inner}", str(2 * inner) if b else "") + ")"
    else:
        proj = 3 * (d * inner + (inner if b else 0))
        proj_text = "3*(" + sum_terms(f"{d}*{inner}", str(inner) if b else "") + ")"
    out = inner * d + (d if b else 0) if out_proj else 0
    out_text = "(" + sum_terms(f"{inner}*{d}", str(d) if b else "") + ")" if out_proj else ""
    dh = inner // heads
    bound = min(d, dh)
    head = f"d_head = {inner}/{heads} = {dh}" if heads > 1 else f"d_head = {dh}"
    rank = (f"A = W_Q W_K^T ({d}x{d} per head): rank(A) <= min(d_model, d_head) = "
            f"min({d}, {dh}) = {bound}, {head}")
    if shared_qk:
        rank += "; with W_Q = W_K, A = W W^T is symmetric positive semi-definite"
    return proj + out, sum_terms(proj_text, out_text), rank


def attention(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    require_rank(layer, shape, (2,), "a sequence LxD",
                 "add `tokens` to turn an image into a sequence")
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
    require_rank(layer, shape, (2,), "a sequence LxD",
                 "add `tokens` to turn an image into a sequence")
    d = shape[1]
    heads, ff, b = layer.get("heads", 1), layer.get("ff", 4 * shape[1]), layer.bias
    attn, attn_text, rank = attention_params(d, heads, d, bias=b,
                                             shared_qk="sharedqk" in layer.flags)
    mlp = d * ff + ff * d + ((ff + d) if b else 0)
    norms = 2 * (2 * d if b else d)
    params = attn + mlp + norms
    formula = sum_terms(
        f"[{attn_text}]",
        "(" + sum_terms(f"{d}*{ff}", str(ff) if b else "") + ")",
        "(" + sum_terms(f"{ff}*{d}", str(d) if b else "") + ")",
        f"2*2*{d}" if b else f"2*{d}") + f" = {fmt(params)}"
    notes = [f"self-attention {fmt(attn)} + MLP {d}->{ff}->{d} {fmt(mlp)} "
             f"+ 2 layernorms {fmt(norms)}", rank]
    return Outcome(shape, params, formula, notes=notes,
                   name="transformer")


def additive_attention(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    require_rank(layer, shape, (2,), "a sequence of features LxF",
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
    require_rank(layer, shape, (2,), "a sequence LxD",
                 "add `tokens` to turn an image into a sequence")
    k = layer.get("count")
    ctx.class_tokens = k
    n, d = shape
    return Outcome((n + k, d), k * d, f"{k}*{d} = {fmt(k * d)}", f"{n} + {k} = {n + k} tokens",
                   notes=["learnable tokens appended after the sequence"], name="classtokens")


def position_embedding(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    require_rank(layer, shape, (2,), "a sequence LxD",
                 "add `tokens` to turn an image into a sequence")
    n, d = shape
    return Outcome(shape, n * d, f"{n}*{d} = {fmt(n * d)}", notes=["added to the tokens"],
                   name="posembed")


def masks(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    require_rank(layer, shape, (2,), "a sequence LxD",
                 "masks follows `classtokens K` and a transformer")
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
    formula = sum_terms(f"2*{d}*{d}" if proj else "", f"2*{k}" if norm else "")
    formula = f"{formula} = {fmt(params)}" if formula else "no parameters"
    ctx.class_tokens = 0
    notes = ["patch tokens times class tokens (each projected, no bias, L2-normalised)"
             + (", then a layernorm over the classes" if norm else "")]
    return Outcome((n - k, k), params, formula, f"{n} - {k} = {n - k} patches x {k} classes",
                   notes=notes, name="masks")


def token_pool(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    require_rank(layer, shape, (2,), "a sequence LxD", "tokenpool reduces a sequence to one vector")
    how = layer.get("how", "mean")
    return Outcome((shape[1],), 0, "no parameters", f"{how} of {shape[0]} tokens",
                   name="tokenpool")

