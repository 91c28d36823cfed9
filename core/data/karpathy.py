"""Caption data sets in Karpathy's `dataset.json` layout: Sydney-Captions, UCM-Captions.

The folder holds `dataset.json` and the images, either beside it or in one of
`imgs/`, `images/`. The file reads:

    {"images": [{"filename": "1.tif", "split": "train",
                 "sentences": [{"tokens": ["a", "plane", ...], "raw": "A plane ..."}, ...]},
                ...]}

"restval", where a file has it, counts as training. Captions are the tokens, lowercase,
joined by spaces (the raw sentence, lowercased and split, where there are none).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dltui.errors import UserError

IMAGE_DIRS = ("imgs", "images", ".")
# Karpathy's "restval" (images held out of val for lack of need) trains, as in his code.
SPLIT_NAMES = {"train": ("train", "restval"), "val": ("val",), "test": ("test",)}


@dataclass
class CaptionSplit:
    images: np.ndarray  # N x S x S x 3 uint8, resized to the asked size
    captions: list[list[str]]  # every reference of each image
    filenames: list[str]

    def __len__(self) -> int:
        return len(self.filenames)


def load_karpathy(root: str | Path, split: str, *, image_size: int = 224,
                  count: int | None = None) -> CaptionSplit:
    """The images and references of `split` ("train", "val", "test") under `root`."""
    if not str(root):
        raise UserError("caption data other than the embedded shapes needs a data_root",
                        fix="pass data_root=/path/to/folder holding dataset.json and imgs/")
    folder = Path(root).expanduser()
    index = folder / "dataset.json"
    if not index.is_file():
        raise UserError(f"no dataset.json in {folder}",
                        fix=f"put the Karpathy-style dataset.json and the images folder (imgs/) "
                            f"in {folder}, or point data_root at the folder that has them")
    try:
        entries = json.loads(index.read_text(encoding="utf-8"))["images"]
    except (ValueError, KeyError, TypeError) as err:
        raise UserError(f"{index} is not a Karpathy-style dataset.json: {err}",
                        fix='it needs {"images": [{"filename", "split", "sentences"}, ...]}'
                        ) from err
    chosen = [e for e in entries if e.get("split") in SPLIT_NAMES[split]]
    if count:
        chosen = chosen[:count]
    if not chosen:
        raise UserError(f"{index} has no images in the {split!r} split",
                        fix="mark some images with \"split\": \"train\" / \"val\" / \"test\"")
    images, captions, names = [], [], []
    for entry in chosen:
        path = _find_image(folder, entry)
        images.append(_read_image(path, image_size))
        captions.append([_caption(s) for s in entry.get("sentences", [])])
        names.append(str(entry["filename"]))
    return CaptionSplit(np.stack(images), captions, names)


def _find_image(folder: Path, entry: dict[str, Any]) -> Path:
    name = str(entry["filename"])
    tried = [folder / str(entry.get("filepath", "")) / name] if entry.get("filepath") else []
    tried += [folder / sub / name for sub in IMAGE_DIRS]
    for path in tried:
        if path.is_file():
            return path
    raise UserError(f"image {name} of dataset.json is not in {folder}",
                    fix=f"put the images in {folder / 'imgs'}")


def _read_image(path: Path, size: int) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as img:
            rgb = img.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
            return np.asarray(rgb, dtype=np.uint8)
    except OSError as err:
        raise UserError(f"cannot read image {path}: {err}", fix="replace or remove it") from err


def _caption(sentence: dict[str, Any]) -> str:
    raw = str(sentence.get("raw", "")).lower()
    tokens = sentence.get("tokens") or re.findall(r"[a-z0-9]+", raw)
    return " ".join(str(t).lower() for t in tokens)
