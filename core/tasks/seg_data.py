"""Segmentation data for the heads: the embedded shapes or PASCAL VOC 2012 from disk."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dltui.errors import UserError

VOC_CLASS_NAMES = [
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat",
    "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant",
    "sheep", "sofa", "train", "tvmonitor",
]


@dataclass
class SegSplit:
    images: np.ndarray  # N x S x S x 3 uint8
    masks: np.ndarray  # N x S x S uint8, 255 = ignore
    class_names: list[str]


def load_shapes_split(split: str, size: int, count: int, cache_dir: Path,
                      variant: str = "plain") -> SegSplit:
    """The embedded shapes' `split`; `variant` "large" has large, overlapping shapes."""
    from dltui.data.shapes import MASK_CLASS_NAMES, load_shapes

    data = load_shapes(split, image_size=size, count=count, cache_dir=cache_dir, variant=variant)
    return SegSplit(data.images, data.masks, list(MASK_CLASS_NAMES))


def load_voc_split(root: str, split: str, size: int, count: int) -> SegSplit:
    """VOC 2012 `split` ("train" or "val") resized to size x size (masks by nearest pixel)."""
    from PIL import Image
    from torchvision.datasets import VOCSegmentation

    try:
        voc = VOCSegmentation(root, year="2012", image_set=split, download=False)
    except RuntimeError:
        raise UserError(
            f"PASCAL VOC 2012 is not under {Path(root).resolve()}",
            fix="download VOCtrainval_11-May-2012.tar and unpack it there, so that "
                f"{root}/VOCdevkit/VOC2012/SegmentationClass exists, or set data_root",
        ) from None
    n = len(voc) if count <= 0 else min(count, len(voc))
    images = np.empty((n, size, size, 3), np.uint8)
    masks = np.empty((n, size, size), np.uint8)
    for i in range(n):
        image, target = voc[i]
        images[i] = np.asarray(image.convert("RGB").resize((size, size), Image.Resampling.BILINEAR))
        masks[i] = np.asarray(target.resize((size, size), Image.Resampling.NEAREST))
    return SegSplit(images, masks, list(VOC_CLASS_NAMES))


def palette(classes: int) -> np.ndarray:
    """VOC's colour map (class index bits spread over RGB), 256 x 3 uint8; 255 is white."""
    colours = np.zeros((256, 3), np.uint8)
    for c in range(256):
        r = g = b = 0
        label = c
        for bit in range(8):
            r |= ((label >> 0) & 1) << (7 - bit)
            g |= ((label >> 1) & 1) << (7 - bit)
            b |= ((label >> 2) & 1) << (7 - bit)
            label >>= 3
        colours[c] = (r, g, b)
    colours[255] = (255, 255, 255)
    return colours


def prediction_strip(images: np.ndarray, truth: np.ndarray, pred: np.ndarray,
                     classes: int) -> np.ndarray:
    """Rows of image | true mask | predicted mask, as one H x W x 3 uint8 picture."""
    colours = palette(classes)
    rows = [np.concatenate([img, colours[t], colours[p]], axis=1)
            for img, t, p in zip(images, truth, pred, strict=True)]
    return np.concatenate(rows, axis=0)
