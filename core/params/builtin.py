"""Specs of the built-in experiments' models, from a task name and its params.

`spec_for_task("cnn", {"data": "fashion-mnist"})` gives the spec that
`dltui params` and the compare table count. The numbers mirror what each task
builds; where a task's model changes, its spec here changes with it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def _get(params: Mapping[str, Any], *names: str, default: Any) -> Any:
    for name in names:
        if name in params and params[name] is not None:
            return params[name]
    return default


def _int(params: Mapping[str, Any], *names: str, default: int) -> int:
    value = _get(params, *names, default=default)
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no", "none", "off")
    return bool(value)


def cnn_spec(params: Mapping[str, Any]) -> str:
    """The report's CNN: two conv/ReLU/max-pool stages and three linear layers."""
    data = str(_get(params, "data", "dataset", default="")).lower()
    channels = 1 if data.replace("_", "-") in ("fashion-mnist", "fashionmnist", "mnist") else 3
    classes = _int(params, "classes", "num_classes", default=10)
    p = _get(params, "dropout", default=0.3)
    return (f"28x28x{channels} | conv 16 3x3 padding 1 | relu | maxpool 2 | conv 32 3x3 | relu"
            f" | maxpool 2 | flatten 1152 | linear 1152->600 | relu | dropout {p}"
            f" | linear 600->120 | relu | linear 120->{classes}")


def caption_spec(params: Mapping[str, Any]) -> str:
    """The LSTMCell captioner, one decoding step, with or without additive attention.

    Parts: the word embedding; (with attention) the additive attention over the frozen
    feature grid, queried by the hidden state; the LSTMCell on the embedding (and
    the attended features) followed by dropout and the projection to the vocabulary.
    """
    vocab = _int(params, "vocab_size", "vocab", default=1000)
    embed = _int(params, "embed_dim", "embedding_dim", "embed", default=100)
    hidden = _int(params, "hidden_dim", "hidden_size", "hidden", default=256)
    att = _int(params, "attention_dim", "att_dim", default=100)
    feat = _int(params, "feature_dim", "encoder_dim", "features", default=512)
    grid = _int(params, "feature_grid", "grid", default=7)
    p = _get(params, "dropout", default=0.5)
    parts = [f"embed: 1 | embedding {vocab} {embed} | flatten"]
    step_in = embed
    if _truthy(_get(params, "attention", "use_attention", default=True)):
        parts.append(f"attention: {grid * grid}x{feat} | additive {att} query {hidden}")
        step_in += feat
    parts.append(f"decoder: {step_in} | lstmcell {hidden} | dropout {p} | linear {vocab}")
    return " ; ".join(parts)


SEG_HEADS = ("linear", "conv", "transformer", "transformer-shared-qk")
# The frozen backbones' token maps: (width C, patch size, default image size).
_BACKBONES = {"pretrain-vit": (96, 4, 32), "dino-vits16": (384, 16, 224)}
# background + 4 shape kinds (both embedded variants); VOC's 20 + background
_SEG_CLASSES = {"shapes": 5, "shapes-large": 5, "voc": 21}


def seg_head_spec(params: Mapping[str, Any]) -> str | None:
    """A segmentation head on the patch-token map of a frozen ViT (the `seg-heads` task).

    The token map is C = 96 on an 8x8 grid for the `pretrain-vit` backbone (its
    default shape) and C = 384 on 14x14 for DINO ViT-S/16 at 224 px; `dim` and
    `grid` override both. Heads, as the task builds them:
    linear: a 1x1 conv; conv: conv 3x3 C->H, ReLU, 2x upsampling, conv 3x3 H->H,
    ReLU, conv 1x1 H->K; transformer: Segmenter's mask transformer with one
    pre-norm block, a final layernorm, C x C projections of patches and classes
    and a layernorm over the K classes; transformer-shared-qk: the same with one
    C -> 2C attention projection, q = k = its first half.
    """
    head = str(_get(params, "head", default="linear")).lower().replace("_", "-")
    backbone = str(_get(params, "backbone", default="pretrain-vit")).lower()
    dim, patch, image = _BACKBONES.get(backbone, _BACKBONES["pretrain-vit"])
    dim = _int(params, "dim", "backbone_dim", default=dim)
    image = _int(params, "image_size", default=0) or image
    side = _int(params, "grid", default=max(1, image // patch))
    data = str(_get(params, "data", default="shapes")).lower()
    classes = _int(params, "classes", "num_classes", default=_SEG_CLASSES.get(data, 21))
    heads = _int(params, "attn_heads", "heads", default=4)
    tokens = f"{side * side}x{dim}"
    if head in ("linear", "1x1"):
        return f"{tokens} | grid {side}x{side} | conv {classes} 1x1"
    if head in ("conv", "convolutional"):
        width = _int(params, "conv_hidden", "hidden", default=64)
        return (f"{tokens} | grid {side}x{side} | conv {width} 3x3 padding 1 | relu | upsample 2"
                f" | conv {width} 3x3 padding 1 | relu | conv {classes} 1x1")
    shared = head in ("transformer-shared-qk", "transformer-sharedqk", "sharedqk", "shared-qk")
    if head in ("transformer", "segmenter") or shared:
        return (f"{tokens} | classtokens {classes} | transformer {heads}"
                f"{' sharedqk' if shared else ''} | layernorm | masks {classes}"
                f" | grid {side}x{side}")
    return None


_TASKS: dict[str, Callable[[Mapping[str, Any]], str | None]] = {
    "cnn": cnn_spec,
    "caption": caption_spec,
    "seg-heads": seg_head_spec,
}


def spec_for_task(task: str, params: dict[str, Any]) -> str | None:
    """The spec of a built-in task's trained model for these params; None where none is known."""
    make = _TASKS.get(task)
    return make(params or {}) if make else None


__all__ = ["SEG_HEADS", "caption_spec", "cnn_spec", "seg_head_spec", "spec_for_task"]
