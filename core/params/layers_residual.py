"""Residual blocks (ResNet's basic block and bottleneck): convolutions with batchnorm
and the downsampling path, counted as one layer."""

from __future__ import annotations

from dltui.params.layers_common import (
    Context,
    Layer,
    Outcome,
    Shape,
    fmt,
    join_axes,
    output_channels,
    split_spatial,
    window_shapes,
)


def _conv_bn(k: int, cin: int, cout: int) -> tuple[int, str]:
    return k * k * cin * cout + 2 * cout, f"{k}*{k}*{cin}*{cout} + 2*{cout}"


def residual(layer: Layer, shape: Shape, ctx: Context) -> Outcome:
    (h, w), cin, axes = split_spatial(layer, shape)
    s = layer.get("stride", 1)
    bottleneck = layer.kind == "bottleneck"
    planes = output_channels(layer, cin)
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
    outs, texts = window_shapes(shape, [(h, 3, s, 1, 1), (w, 3, s, 1, 1)])
    return Outcome((outs[0], outs[1], cout), params, formula, join_axes(axes, texts),
                   buffers=2 * bns, notes=[what + " (convs without bias)"],
                   name=layer.kind)

