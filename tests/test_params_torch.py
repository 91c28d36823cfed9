"""The calculator's counts and shapes against real torch modules built from the same spec."""

from __future__ import annotations

import os

import pytest
import torchvision
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from params_torch import run_architecture
from torch import nn

from dltui.errors import UserError
from dltui.params import count_parameters, parse_spec, spec_for_task


def check(spec: str) -> int:
    """Assert every layer's parameters, buffers and output shape equal torch's; the total."""
    arch = parse_spec(spec)
    report = count_parameters(arch)
    rows = report.layers
    measured = run_architecture(arch)
    assert len(rows) == len(measured)
    for row, (layer, params, buffers, shape) in zip(rows, measured, strict=True):
        where = f"layer {layer.label} `{layer.text}` in `{spec}`"
        assert row.params == params, where
        assert row.buffers == buffers, where
        assert row.shape == shape, where
    assert report.total == sum(p for _, p, _, _ in measured)
    return report.total


HAND_PICKED = {
    "report B CNN": "28x28x3 | conv 8 5x5 | maxpool 4 stride 2 | flatten | linear 10 | softmax",
    "report B MLP": "28x28x3 | flatten | linear 100 | linear 10",
    "LeNet-5": "32x32x1 | conv 6 5x5 | tanh | avgpool 2 | conv 16 5x5 | tanh | avgpool 2"
               " | flatten 400 | linear 120 | tanh | linear 84 | tanh | linear 10",
    "VGG block": "32x32x3 | (conv 64 3x3 padding 1 | batchnorm | relu) x2 | maxpool 2"
                 " | flatten | dropout 0.5 | linear 10",
    "ResNet basic blocks": "16x16x32 | resblock 64 stride 2 | resblock 64 | resblock 64 downsample",
    "ResNet bottlenecks": "16x16x64 | bottleneck 32 stride 2 | bottleneck 32 | gap | flatten",
    "transformer blocks": "10x64 | transformer 4 ff 128 | transformer 4 nobias"
                          " | transformer 2 sharedqk | transformer 8 sharedqk nobias ff 32",
    "attention": "12x48 | attention 4 | attention 3 nobias | attention 2 sharedqk"
                 " | attention 1 dim 16 sharedqk nobias | attention 4 dim 32 noout",
    "recurrent": "20x16 | lstm 32 layers 2 bidirectional | gru 24 nobias | rnn 8 layers 3"
                 " | lstm 6 layers 3 bi nobias",
    "cells": "16 | lstmcell 32 | grucell 16 nobias | rnncell 8 | prelu perchannel | batchnorm",
    "convolutions": "17x19x4 | conv 8 3x5 stride 2x1 padding 1x2 dilation 2"
                    " | conv 8 3x3 groups 4 padding same nobias | convt 4 4x4 stride 2 padding 1"
                    " | convt 6 3x3 stride 3 output_padding 1 groups 2 | maxpool 3 stride 2 ceil"
                    " | avgpool 2 padding 1 | adaptivemaxpool 3x2 | upsample 2 | conv 2 2x2 nobias",
    "1-d over a sequence": "30x8 | conv 16 5 stride 2 | maxpool1d 2 | avgpool 3 stride 2 ceil"
                           " | conv1d 4 3 padding same | convt 4 3 stride 2 | adaptiveavgpool 4"
                           " | upsample size 9 | batchnorm | layernorm | prelu perchannel"
                           " | tokenpool max",
    "norms and reshapes": "8x8x6 | groupnorm 3 | batchnorm noaffine | layernorm nobias | prelu"
                          " | tokens | layernorm noaffine | grid 4x16 | maxpool 2x4 ceil",
    "ViT": "32x32x3 | conv 48 8x8 stride 8 | tokens | classtokens 1 | posembed"
           " | transformer 3 x2 | layernorm | tokenpool last | linear 10",
    "embedding and LSTM": "12 | embedding 50 16 | lstm 32 | linear 50 | logsoftmax",
    "Segmenter": "16x32 | classtokens 5 | transformer 4 | masks 5 | grid"
                 " ; 16x32 | classtokens 3 | masks 3 noproj nonorm",
    "frozen parts": "backbone: 8x8x3 | conv 4 3x3 frozen | relu ; head: 36x4 | linear 2 frozen",
}


@pytest.mark.parametrize("spec", HAND_PICKED.values(), ids=HAND_PICKED.keys())
def test_hand_picked_specs_match_torch(spec: str) -> None:
    check(spec)


def test_lenet5_total() -> None:
    assert check(HAND_PICKED["LeNet-5"]) == 61_706


@pytest.mark.parametrize("params", [
    {"data": "fashion-mnist"}, {}, {"attention": True}, {"attention": False, "vocab_size": 37},
    {"head": "linear"}, {"head": "conv", "classes": 5}, {"head": "transformer", "dim": 96,
                                                        "heads": 3, "grid": 8},
    {"head": "sharedqk", "dim": 96, "heads": 3, "grid": 8, "classes": 6},
], ids=["cnn-fmnist", "cnn", "caption-att", "caption-plain", "seg-linear", "seg-conv",
        "seg-transformer", "seg-sharedqk"])
def test_builtin_specs_match_torch(params: dict[str, object]) -> None:
    task = "cnn" if "data" in params or not params else (
        "seg-heads" if "head" in params else "caption")
    spec = spec_for_task(task, params)
    assert spec is not None
    check(spec)


RESNET18 = ("224x224x3 | conv 64 7x7 stride 2 padding 3 nobias | batchnorm | relu"
            " | maxpool 3 stride 2 padding 1 | resblock 64 x2 | resblock 128 stride 2"
            " | resblock 128 | resblock 256 stride 2 | resblock 256 | resblock 512 stride 2"
            " | resblock 512 | gap | flatten | linear 1000")
RESNET50 = ("224x224x3 | conv 64 7x7 stride 2 padding 3 nobias | batchnorm | relu"
            " | maxpool 3 stride 2 padding 1 | bottleneck 64 x3 | bottleneck 128 stride 2"
            " | bottleneck 128 x3 | bottleneck 256 stride 2 | bottleneck 256 x5"
            " | bottleneck 512 stride 2 | bottleneck 512 x2 | gap | flatten | linear 1000")
VIT_B16 = ("224x224x3 | conv 768 16x16 stride 16 | tokens | classtokens 1 | posembed"
           " | transformer 12 ff 3072 x12 | layernorm | tokenpool last | linear 1000")


def numel(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(("spec", "build", "published"), [
    (RESNET18, "resnet18", 11_689_512),
    (RESNET50, "resnet50", 25_557_032),
    (VIT_B16, "vit_b_16", 86_567_656),
])
def test_torchvision_published_totals(spec: str, build: str, published: int) -> None:
    report = count_parameters(parse_spec(spec))
    assert report.total == published
    assert numel(getattr(torchvision.models, build)(weights=None)) == published
    assert report.outputs == ["1000"]


def test_resnet18_layer_by_layer_on_a_small_image() -> None:
    assert check(RESNET18.replace("224x224x3", "64x64x3")) == 11_689_512


def test_transformer_encoder_layer_defaults() -> None:
    layer = nn.TransformerEncoderLayer(384, 6, 1536, batch_first=True)
    assert count_parameters(parse_spec("196x384 | transformer 6")).total == numel(layer)


def test_project_vit_block_matches_the_transformer_spec() -> None:
    vit = pytest.importorskip("dltui.tasks.vit")
    for shared in (False, True):
        block = vit.Block(96, 3, shared_qk=shared)
        spec = "64x96 | transformer 3" + (" sharedqk" if shared else "")
        assert count_parameters(parse_spec(spec)).total == numel(block)


class Captioner(nn.Module):
    """An LSTMCell captioner with additive attention, written the usual way."""

    def __init__(self, vocab: int, features: int = 512) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab, 100)
        self.feature_att = nn.Linear(features, 100)
        self.hidden_att = nn.Linear(256, 100)
        self.score = nn.Linear(100, 1)
        self.cell = nn.LSTMCell(100 + features, 256)
        self.dropout = nn.Dropout(0.5)
        self.out = nn.Linear(256, vocab)


def test_lstm_captioner_total() -> None:
    spec = spec_for_task("caption", {"vocab_size": 321, "attention": True})
    assert spec is not None
    assert count_parameters(parse_spec(spec)).total == numel(Captioner(321))


# -- hypothesis: random small chains, grown one valid layer at a time -------------------

small = st.integers(1, 3)
conv_op = st.builds(
    lambda o, k1, k2, s, p, d, g, b: f"conv {o * g} {k1}x{k2} stride {s} padding {p}"
                                     f" dilation {d} groups {g}{' nobias' if b else ''}",
    st.integers(1, 6), st.integers(1, 4), st.integers(1, 4), small, st.integers(0, 2),
    st.integers(1, 2), st.sampled_from([1, 1, 2]), st.booleans())
image_op = st.one_of(
    conv_op,
    st.builds(lambda o, k: f"conv {o} {k}x{k} padding same", st.integers(1, 6), small),
    st.builds(lambda o, k, s, p: f"convt {o} {k} stride {s} padding {p}",
              st.integers(1, 6), st.integers(1, 4), small, st.integers(0, 1)),
    st.builds(lambda op, k, s, p, c: f"{op} {k} stride {s} padding {p}{' ceil' if c else ''}",
              st.sampled_from(["maxpool", "avgpool"]), st.integers(1, 3), small,
              st.integers(0, 1), st.booleans()),
    st.builds(lambda op, a, b: f"{op} {a}x{b}", st.sampled_from(["adaptiveavgpool",
                                                                "adaptivemaxpool"]),
              small, small),
    st.builds(lambda o, s: f"resblock {o} stride {s}", st.integers(1, 8), st.integers(1, 2)),
    st.sampled_from(["batchnorm", "layernorm", "groupnorm 1", "relu", "gelu", "tanh",
                     "dropout 0.2", "upsample 2", "prelu", "conv 4 1x1 frozen"]),
)
seq_op = st.one_of(
    st.builds(lambda o, b: f"linear {o}{' nobias' if b else ''}", st.integers(1, 12),
              st.booleans()),
    st.builds(lambda h, e, f: f"attention {h}" + (f" dim {e}" if e else "") + f" {f}",
              st.sampled_from([1, 2, 4]), st.sampled_from([0, 0, 4, 8]),
              st.sampled_from(["", "sharedqk", "nobias", "noout", "sharedqk nobias"])),
    st.builds(lambda h, f, x: f"transformer {h} ff {f} {x}", st.sampled_from([1, 2, 4]),
              st.integers(1, 16), st.sampled_from(["", "sharedqk", "nobias"])),
    st.builds(lambda r, h, n, f: f"{r} {h} layers {n} {f}", st.sampled_from(["lstm", "gru", "rnn"]),
              st.integers(1, 6), small, st.sampled_from(["", "bidirectional", "nobias"])),
    st.builds(lambda o, k: f"conv1d {o} {k}", st.integers(1, 8), st.integers(1, 3)),
    st.builds(lambda k: f"maxpool {k}", st.integers(1, 2)),
    st.builds(lambda k: f"classtokens {k}", small),
    st.sampled_from(["layernorm", "posembed", "gelu", "batchnorm", "softmax", "dropout"]),
)
vec_op = st.one_of(
    st.builds(lambda o, b: f"linear {o}{' nobias' if b else ''}", st.integers(1, 12),
              st.booleans()),
    st.builds(lambda c, h: f"{c} {h}", st.sampled_from(["lstmcell", "grucell", "rnncell"]),
              st.integers(1, 8)),
    st.sampled_from(["batchnorm", "layernorm", "relu", "sigmoid", "dropout 0.1",
                     "prelu perchannel", "logsoftmax"]),
)


def grow(data: st.DataObject, spec: str, ops: st.SearchStrategy[str], n: int) -> str:
    """Append up to n drawn layers, skipping any the calculator rejects."""
    for _ in range(n):
        candidate = f"{spec} | {data.draw(ops)}"
        try:
            count_parameters(parse_spec(candidate))
        except UserError:
            continue
        spec = candidate
    return spec


FAST = settings(max_examples=int(os.environ.get("PARAMS_EXAMPLES", "25")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@FAST
@given(st.data(), st.integers(4, 14), st.integers(4, 14), st.integers(1, 4))
def test_random_image_chains_match_torch(data: st.DataObject, h: int, w: int, c: int) -> None:
    spec = grow(data, f"{h}x{w}x{c}", image_op, data.draw(st.integers(1, 5)))
    if data.draw(st.booleans()):
        spec = grow(data, f"{spec} | flatten", vec_op, 2)
    check(spec)


@FAST
@given(st.data(), st.integers(2, 9), st.sampled_from([4, 8, 12]))
def test_random_sequence_chains_match_torch(data: st.DataObject, length: int, d: int) -> None:
    spec = grow(data, f"{length}x{d}", seq_op, data.draw(st.integers(1, 5)))
    if data.draw(st.booleans()):
        spec = grow(data, spec + " | tokenpool " + data.draw(
            st.sampled_from(["mean", "max", "first", "last"])), vec_op, 2)
    check(spec)


@FAST
@given(st.data(), st.integers(1, 16))
def test_random_vector_chains_match_torch(data: st.DataObject, c: int) -> None:
    check(grow(data, str(c), vec_op, data.draw(st.integers(1, 5))))
