"""The table of layer kinds: each kind's name, usage line, arguments, flags and aliases,
and the function that works out its output shape and parameter count (in the
`layers_*` modules, one per family)."""

from __future__ import annotations

from dltui.params.layers_basic import (
    activation,
    batchnorm,
    dropout,
    embedding,
    flatten,
    grid,
    groupnorm,
    layernorm,
    linear,
    tokens,
)
from dltui.params.layers_common import Kind
from dltui.params.layers_conv import adaptive_pool, conv, conv_transpose, pool, upsample
from dltui.params.layers_residual import residual
from dltui.params.layers_sequence import (
    additive_attention,
    attention,
    class_tokens,
    masks,
    position_embedding,
    recurrent,
    recurrent_cell,
    token_pool,
    transformer,
)

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
