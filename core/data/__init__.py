"""Data sets of the built-in tasks: the embedded shapes set and loaders of the real ones.

The real loaders import torch/torchvision only when called.
"""

from dltui.data.shapes import (
    CLASS_NAMES,
    COLOUR_NAMES,
    MASK_CLASS_NAMES,
    SHAPE_NAMES,
    ShapesSplit,
    default_cache_dir,
    load_shapes,
)

__all__ = ["CLASS_NAMES", "COLOUR_NAMES", "MASK_CLASS_NAMES", "SHAPE_NAMES", "ShapesSplit",
           "default_cache_dir", "load_shapes"]
