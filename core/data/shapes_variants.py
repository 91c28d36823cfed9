"""Two variants of the embedded shapes that ask what report A's real data asked.

The plain scenes (shapes.py) are easy in two ways the report's data is not,
and each variant changes just that one property:

- "large" (for segmentation): VOC's objects are large, often overlapping and
  cut by the frame; a patch inside a cow's flank does not say "cow", its
  head several patches away does. Here both shapes are large (a quarter to
  almost half the image side in radius, so 4 to 7 patches of 8 across), the
  second may cover part of the first, and their fill is flat. A patch inside
  a shape carries only its colour; which kind it belongs to is decided by
  the outline, more than a 3 x 3 neighbourhood of patches away.
- "long-tail" (for captioning): the images are the plain ones, but the five
  references draw each word from a Zipf-distributed set of synonyms
  (p proportional to 1 / rank, as word frequencies in COCO's and every other
  natural caption corpus fall), and add an attribute now and then. A
  captioner then learns a broad next-word distribution with many rare,
  valid-somewhere words, while an image's five references hold only a few
  of them: the most likely word is the one most often matched, and the
  further sampling reaches into the tail, the less it matches.
"""

from __future__ import annotations

import numpy as np

VARIANTS = ("plain", "large", "long-tail")

# Radius as a fraction of the image side, by size (small, large): each shape spans
# 4 to 7 of the 8 patches across a 32 px image with 4 px patches.
LARGE_RADIUS = {0: (0.24, 0.30), 1: (0.34, 0.42)}
MIN_VISIBLE = 0.4  # share of the back shape the front one must leave visible


def place_large(rng: np.random.Generator, size: int,
                radii: list[float]) -> list[tuple[float, float]]:
    """Two centres, shape 1 drawn over shape 0, in one clear relation, both well visible.

    Centres may sit near the frame, so shapes may be cut by it, as photographed
    objects are. Visibility is judged on discs of the shapes' radii.
    """
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    for _ in range(10_000):
        centres = [(rng.uniform(0.5 * r, size - 0.5 * r), rng.uniform(0.5 * r, size - 0.5 * r))
                   for r in radii]
        dx = abs(centres[0][0] - centres[1][0])
        dy = abs(centres[0][1] - centres[1][1])
        if max(dx, dy) < 1.6 * min(dx, dy) + 1 or max(dx, dy) < 0.5 * (radii[0] + radii[1]):
            continue
        discs = [(xs - cx) ** 2 + (ys - cy) ** 2 <= r * r
                 for (cx, cy), r in zip(centres, radii, strict=True)]
        area = int(discs[0].sum())
        if area and (discs[0] & ~discs[1]).sum() >= MIN_VISIBLE * area:
            return centres
    raise RuntimeError(f"cannot place two large shapes in a {size}px image")  # pragma: no cover


# Each list runs from the most to the least frequent word; rank r is drawn with
# probability proportional to 1 / r.
SIZE_WORDS = {
    0: ["small", "little", "tiny", "smallish", "miniature", "petite", "compact", "wee"],
    1: ["large", "big", "huge", "giant", "sizeable", "massive", "hefty", "enormous"],
}
COLOUR_WORDS = {
    "red": ["red", "crimson", "scarlet", "ruby", "cherry", "vermilion", "brick"],
    "green": ["green", "emerald", "lime", "olive", "jade", "grassy", "mint"],
    "blue": ["blue", "navy", "azure", "cobalt", "sapphire", "royal blue", "indigo"],
    "yellow": ["yellow", "golden", "lemon", "amber", "mustard", "canary", "sunny"],
    "purple": ["purple", "violet", "magenta", "lilac", "plum", "mauve", "lavender"],
    "white": ["white", "ivory", "snowy", "cream", "pearl", "milky", "chalk"],
}
SHAPE_WORDS = {
    "circle": ["circle", "disc", "round shape", "dot", "ball", "circular shape", "orb"],
    "square": ["square", "box", "block", "tile", "square shape", "quadrilateral", "cube"],
    "triangle": ["triangle", "pyramid", "wedge", "triangular shape", "arrowhead", "delta"],
    "cross": ["cross", "plus sign", "plus", "cross shape", "crosshair", "x shape"],
}
ATTRIBUTES = ["solid", "bright", "flat", "plain", "vivid", "shiny", "bold", "simple",
              "matte", "glossy", "smooth", "filled", "neat", "faded", "clean", "dull"]
ATTRIBUTE_RATE = 0.3
RELATION_WORDS = {
    "left of": ["left of", "to the left of", "on the left of", "beside and left of",
                "west of", "leftward of"],
    "right of": ["right of", "to the right of", "on the right of", "beside and right of",
                 "east of", "rightward of"],
    "above": ["above", "over", "on top of", "higher than", "atop", "up from"],
    "below": ["below", "under", "beneath", "underneath", "lower than", "down from"],
}
_INVERSE = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}


def zipf_pick(words: list[str], rng: np.random.Generator) -> str:
    """One of `words`, rank r (from 1) with probability proportional to 1 / r."""
    weights = 1.0 / np.arange(1, len(words) + 1)
    return words[int(rng.choice(len(words), p=weights / weights.sum()))]


def describe_long_tail(kinds: list[str], colours: list[str], sizes: list[int], relation: str,
                       rng: np.random.Generator) -> list[str]:
    """Five references of a scene, every word drawn from its Zipf-distributed synonyms.

    `relation` is where object 0 stands relative to object 1 ("left of", ...).
    Three references name object 0 first, two name object 1 first.
    """
    def phrase(j: int, with_size: bool) -> str:
        parts = []
        if rng.random() < ATTRIBUTE_RATE:
            parts.append(zipf_pick(ATTRIBUTES, rng))
        if with_size:
            parts.append(zipf_pick(SIZE_WORDS[sizes[j]], rng))
        parts.append(zipf_pick(COLOUR_WORDS[colours[j]], rng))
        parts.append(zipf_pick(SHAPE_WORDS[kinds[j]], rng))
        return " ".join(parts)

    refs = []
    for k in range(5):
        first, rel = (0, relation) if k in (0, 2, 4) else (1, _INVERSE[relation])
        with_size = k < 4 or bool(rng.integers(2))
        start = "the" if k == 3 else "a"
        refs.append(f"{start} {phrase(first, with_size)} {zipf_pick(RELATION_WORDS[rel], rng)} "
                    f"a {phrase(1 - first, with_size)}")
    return refs
