"""The embedded data set: small RGB scenes of two coloured shapes, made with numpy alone.

Every scene holds two non-touching shapes on a dark, noisy background. Each
shape has a kind (SHAPE_NAMES), a colour (COLOUR_NAMES, the two differ) and a
size (small or large), and the pair stands in one clear relation: left of,
right of, above or below. One scene serves every task:

- `labels`: the unordered pair of shape kinds (10 classes, CLASS_NAMES), so a
  classifier must recognise both shapes wherever they are; colours and sizes
  are nuisance. A linear model on pixels does clearly worse than a small CNN.
- `masks`: per-pixel shape kind, 0 for background (MASK_CLASS_NAMES).
- `captions`: five references in varied wording that name both shapes with
  their colours, sizes and relation ("a small red circle left of a big blue
  square"), so a captioner must look at the right place.
- `objects`: the scene itself, N x 2 x 5 int (kind, colour, size, centre x,
  centre y), for checks.

Splits are deterministic: image i of a split depends only on (seed, split, i,
image_size, variant), so a smaller `count` gives a prefix of the larger one.
`variant` "large" (large, overlapping shapes) and "long-tail" (the same
images, references drawn from a long tail of synonyms) are described in
shapes_variants.py; "plain" is the default.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dltui.data.shapes_variants import (
    LARGE_RADIUS,
    VARIANTS,
    describe_long_tail,
    place_large,
)

SHAPE_NAMES: list[str] = ["circle", "square", "triangle", "cross"]
COLOUR_NAMES: list[str] = ["red", "green", "blue", "yellow", "purple", "white"]
SIZE_NAMES: list[str] = ["small", "large"]
MASK_CLASS_NAMES: list[str] = ["background", *SHAPE_NAMES]
# Unordered pairs of kinds, (0, 0), (0, 1), ... (3, 3): 10 classes.
CLASS_PAIRS: list[tuple[int, int]] = [(a, b) for a in range(len(SHAPE_NAMES))
                                      for b in range(a, len(SHAPE_NAMES))]
CLASS_NAMES: list[str] = [f"{SHAPE_NAMES[a]}+{SHAPE_NAMES[b]}" for a, b in CLASS_PAIRS]

SPLITS = ("train", "val", "test")
DEFAULT_COUNTS = {"train": 5000, "val": 1000, "test": 1000}
CAPTIONS_PER_IMAGE = 5
VERSION = 3  # bump when the generator changes: cached files carry it in their name

_RGB = np.array([(220, 45, 40), (40, 190, 60), (60, 90, 235),
                 (235, 215, 40), (165, 60, 200), (235, 235, 235)], dtype=np.float32)
# Half-size of a shape as a fraction of the image side: small and large never overlap.
_RADIUS = {0: (0.11, 0.14), 1: (0.18, 0.21)}
_SPLIT_STREAM = {"train": 1, "val": 2, "test": 3}

# Objects' fields in `objects[i, j]`.
KIND, COLOUR, SIZE, CX, CY = range(5)


@dataclass
class ShapesSplit:
    """One split of the embedded set; arrays share their first axis."""

    images: np.ndarray  # N x H x W x 3 uint8
    labels: np.ndarray  # N int64, index into CLASS_NAMES
    masks: np.ndarray  # N x H x W uint8, 0 = background, k = SHAPE_NAMES[k - 1]
    captions: list[list[str]]  # CAPTIONS_PER_IMAGE lowercase references per image
    objects: np.ndarray = field(default_factory=lambda: np.zeros((0, 2, 5), np.int64))

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def default_cache_dir() -> Path:
    """`<runs dir>/.cache/shapes`, the runs dir from DLTUI_RUNS_DIR or else `./runs`."""
    return Path(os.environ.get("DLTUI_RUNS_DIR") or "runs") / ".cache" / "shapes"


def load_shapes(split: str, *, image_size: int = 28, count: int | None = None, seed: int = 0,
                cache_dir: Path | None = None, variant: str = "plain") -> ShapesSplit:
    """The `split` ("train", "val" or "test") of the embedded set, from the cache or made now.

    `count` defaults to DEFAULT_COUNTS[split]. With `cache_dir`, the split is
    kept there as an .npz named after every setting and read back next time.
    `variant` is one of VARIANTS ("plain", "large", "long-tail").
    """
    if split not in _SPLIT_STREAM:
        raise ValueError(f"split is one of {', '.join(SPLITS)}, not {split!r}")
    if variant not in VARIANTS:
        raise ValueError(f"variant is one of {', '.join(VARIANTS)}, not {variant!r}")
    if image_size < 16:
        raise ValueError(f"image_size must be at least 16 pixels, not {image_size}")
    n = DEFAULT_COUNTS[split] if count is None else int(count)
    if n < 0:
        raise ValueError(f"count must not be negative, not {n}")
    if cache_dir is None:
        return _generate(split, image_size, n, seed, variant)
    name = "shapes" if variant == "plain" else f"shapes-{variant}"
    path = Path(cache_dir) / f"{name}-v{VERSION}-{split}-{image_size}px-n{n}-seed{seed}.npz"
    if path.exists():
        try:
            return _read(path)
        except (OSError, ValueError, KeyError):
            pass  # a damaged file is made again below
    data = _generate(split, image_size, n, seed, variant)
    _write_atomic(path, data)
    return data


def _read(path: Path) -> ShapesSplit:
    with np.load(path, allow_pickle=False) as z:
        return ShapesSplit(images=z["images"], labels=z["labels"], masks=z["masks"],
                           captions=[list(row) for row in z["captions"].tolist()],
                           objects=z["objects"])


def _write_atomic(path: Path, data: ShapesSplit) -> None:
    # Two runs may make the same split at once: each writes its own file, the last rename wins.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            np.savez(out, images=data.images, labels=data.labels, masks=data.masks,
                     captions=np.array(data.captions, dtype=np.str_).reshape(
                         len(data), CAPTIONS_PER_IMAGE),
                     objects=data.objects)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _generate(split: str, size: int, n: int, seed: int, variant: str = "plain") -> ShapesSplit:
    images = np.empty((n, size, size, 3), np.uint8)
    masks = np.zeros((n, size, size), np.uint8)
    labels = np.empty(n, np.int64)
    objects = np.zeros((n, 2, 5), np.int64)
    captions: list[list[str]] = []
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    for i in range(n):
        rng = np.random.default_rng([seed, _SPLIT_STREAM[split], size, i])
        label = int(rng.integers(len(CLASS_PAIRS)))
        kinds = list(CLASS_PAIRS[label])
        rng.shuffle(kinds)
        colours = rng.choice(len(COLOUR_NAMES), size=2, replace=False)
        sizes = rng.integers(2, size=2)
        if variant == "large":
            radii = [size * rng.uniform(*LARGE_RADIUS[int(s)]) for s in sizes]
            centres = place_large(rng, size, radii)  # shape 1 may cover part of shape 0
        else:
            radii = [size * rng.uniform(*_RADIUS[int(s)]) for s in sizes]
            centres = _place(rng, size, radii)
        image = _background(rng, size)
        for j in range(2):
            inside = _shape_mask(kinds[j], centres[j], radii[j], xs, ys)
            colour = _RGB[colours[j]] + rng.uniform(-20, 20, size=3)
            shade = colour + rng.normal(0, 6, size=(int(inside.sum()), 3))
            image[inside] = shade
            masks[i][inside] = kinds[j] + 1
            objects[i, j] = (kinds[j], colours[j], sizes[j],
                             round(centres[j][0]), round(centres[j][1]))
        images[i] = np.clip(image, 0, 255).astype(np.uint8)
        labels[i] = label
        if variant == "long-tail":
            captions.append(describe_long_tail(
                [SHAPE_NAMES[k] for k in kinds], [COLOUR_NAMES[int(c)] for c in colours],
                [int(z) for z in sizes], relation(objects[i]), rng))
        else:
            captions.append(describe(objects[i], rng))
    return ShapesSplit(images=images, labels=labels, masks=masks, captions=captions,
                       objects=objects)


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    base = rng.uniform(25, 65, size=3).astype(np.float32)
    # A faint gradient and pixel noise, so that "dark pixel" is not all a model needs.
    ramp = np.linspace(-1, 1, size, dtype=np.float32)
    gx, gy = rng.uniform(-12, 12, size=2)
    image = base + (gx * ramp[None, :] + gy * ramp[:, None])[..., None]
    return image + rng.normal(0, 6, size=(size, size, 3)).astype(np.float32)


def _place(rng: np.random.Generator, size: int,
           radii: list[float]) -> list[tuple[float, float]]:
    """Two centres whose shapes keep a gap and stand in one unambiguous relation."""
    for _ in range(10_000):
        centres = [(rng.uniform(r + 1, size - r - 1), rng.uniform(r + 1, size - r - 1))
                   for r in radii]
        dx = abs(centres[0][0] - centres[1][0])
        dy = abs(centres[0][1] - centres[1][1])
        apart = max(dx, dy) >= radii[0] + radii[1] + 1
        clear = max(dx, dy) >= 1.6 * min(dx, dy) + 1
        if apart and clear:
            return centres
    raise RuntimeError(f"cannot place two shapes in a {size}px image")  # pragma: no cover


def _shape_mask(kind: int, centre: tuple[float, float], r: float,
                xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    dx, dy = xs - centre[0], ys - centre[1]
    if SHAPE_NAMES[kind] == "circle":
        return np.asarray(dx * dx + dy * dy <= r * r)
    if SHAPE_NAMES[kind] == "square":
        side = 0.85 * r
        return np.asarray((np.abs(dx) <= side) & (np.abs(dy) <= side))
    if SHAPE_NAMES[kind] == "triangle":
        # Apex up: half-width grows from 0 at the top to r at the base.
        return np.asarray((dy >= -r) & (dy <= r) & (np.abs(dx) <= (dy + r) / 2))
    arm = max(r / 3, 0.75)
    return np.asarray(((np.abs(dx) <= r) & (np.abs(dy) <= arm))
                      | ((np.abs(dy) <= r) & (np.abs(dx) <= arm)))


def relation(objects: np.ndarray) -> str:
    """Where object 0 stands relative to object 1: "left of", "right of", "above" or "below"."""
    dx = float(objects[0, CX] - objects[1, CX])
    dy = float(objects[0, CY] - objects[1, CY])
    if abs(dx) >= abs(dy):
        return "left of" if dx < 0 else "right of"
    return "above" if dy < 0 else "below"


_INVERSE = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}
_LONG = {"left of": "to the left of", "right of": "to the right of",
         "above": "above", "below": "below"}
_SIZE_WORDS = {0: ("small", "little"), 1: ("large", "big")}


def plural(noun: str) -> str:
    return noun + ("es" if noun.endswith(("s", "x", "ch", "sh")) else "s")


def describe(objects: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Five reference captions of a scene (N x 5 object fields), in varied wording."""
    def words(j: int, with_size: bool = True, with_colour: bool = True) -> str:
        parts = []
        if with_size:
            parts.append(_SIZE_WORDS[int(objects[j, SIZE])][int(rng.integers(2))])
        if with_colour:
            parts.append(COLOUR_NAMES[int(objects[j, COLOUR])])
        parts.append(SHAPE_NAMES[int(objects[j, KIND])])
        return " ".join(parts)

    rel = relation(objects)
    inv = _INVERSE[rel]
    kind_a = SHAPE_NAMES[int(objects[0, KIND])]
    same_kind = objects[0, KIND] == objects[1, KIND]
    colour_a = COLOUR_NAMES[int(objects[0, COLOUR])]
    colour_b = COLOUR_NAMES[int(objects[1, COLOUR])]
    if same_kind and rng.integers(2):
        fifth = f"two {plural(kind_a)} with the {colour_a} one {rel} the {colour_b} one"
    else:
        fifth = (f"a {words(0, with_colour=False)} in {colour_a} {rel} "
                 f"a {words(1, with_colour=False)} in {colour_b}")
    return [
        f"a {words(0)} {rel} a {words(1)}",
        f"a {words(1)} {inv} a {words(0)}",
        f"a {words(0, with_size=False)} {_LONG[rel]} a {words(1, with_size=False)}",
        f"the {words(1)} is {_LONG[inv]} the {words(0)}",
        fifth,
    ]
