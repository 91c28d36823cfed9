"""A minimal PNG encoder, so that images need neither PIL nor matplotlib."""

from __future__ import annotations

import struct
import zlib
from typing import Any


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(pixels: Any) -> bytes:
    """PNG bytes of an H x W (grey) or H x W x C (C = 1, 3 or 4) uint8 array-like.

    `pixels` needs `.shape` and `.tobytes()` (a numpy array), or is a nested list.
    """
    if not hasattr(pixels, "shape"):
        import numpy as np

        pixels = np.asarray(pixels, dtype="uint8")
    shape = tuple(pixels.shape)
    height, width = shape[0], shape[1]
    channels = 1 if len(shape) == 2 else shape[2]
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}.get(channels)
    if colour_type is None:
        raise ValueError(f"an image has 1 to 4 channels, not {channels}")
    raw = pixels.astype("uint8").tobytes() if hasattr(pixels, "astype") else pixels.tobytes()
    stride = width * channels
    rows = b"".join(b"\x00" + raw[y * stride:(y + 1) * stride] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(rows, 6)) + _chunk(b"IEND", b""))
