"""The embedded shapes set: deterministic, well-formed, masks and captions true to the images."""

from __future__ import annotations

import numpy as np
import pytest

from dltui.data import shapes
from dltui.data.shapes import (
    CLASS_NAMES,
    CLASS_PAIRS,
    COLOUR_NAMES,
    MASK_CLASS_NAMES,
    SHAPE_NAMES,
    load_shapes,
)

COUNT = 120


@pytest.fixture(scope="module")
def split() -> shapes.ShapesSplit:
    return load_shapes("val", count=COUNT, seed=3)


def test_types_and_shapes(split: shapes.ShapesSplit) -> None:
    assert split.images.shape == (COUNT, 28, 28, 3) and split.images.dtype == np.uint8
    assert split.masks.shape == (COUNT, 28, 28) and split.masks.dtype == np.uint8
    assert split.labels.shape == (COUNT,) and split.labels.dtype == np.int64
    assert len(split) == COUNT and len(split.captions) == COUNT
    assert all(len(refs) == 5 for refs in split.captions)
    assert set(np.unique(split.labels)) <= set(range(len(CLASS_NAMES)))
    assert len(CLASS_NAMES) == 10
    assert ["background", *SHAPE_NAMES] == MASK_CLASS_NAMES
    assert int(split.masks.max()) <= len(SHAPE_NAMES)


def test_deterministic_and_count_gives_a_prefix() -> None:
    a = load_shapes("train", count=40, seed=7)
    b = load_shapes("train", count=40, seed=7)
    longer = load_shapes("train", count=60, seed=7)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.images, longer.images[:40])
    assert a.captions == b.captions == longer.captions[:40]
    other_seed = load_shapes("train", count=40, seed=8)
    other_split = load_shapes("test", count=40, seed=7)
    assert not np.array_equal(a.images, other_seed.images)
    assert not np.array_equal(a.images, other_split.images)


def test_other_sizes() -> None:
    big = load_shapes("test", image_size=64, count=10)
    assert big.images.shape == (10, 64, 64, 3) and big.masks.shape == (10, 64, 64)
    with pytest.raises(ValueError):
        load_shapes("training", count=1)


def test_labels_are_the_pair_of_kinds(split: shapes.ShapesSplit) -> None:
    for i in range(COUNT):
        kinds = tuple(sorted(int(k) for k in split.objects[i, :, shapes.KIND]))
        assert CLASS_PAIRS[int(split.labels[i])] == kinds
        present = set(np.unique(split.masks[i])) - {0}
        assert present == {k + 1 for k in kinds}


def _regions(split: shapes.ShapesSplit, i: int) -> list[np.ndarray]:
    """Each object's pixels found from the image and mask alone: nearest palette colour."""
    pixels = split.images[i].astype(np.float32)
    nearest = np.argmin(((pixels[:, :, None, :] - shapes._RGB) ** 2).sum(-1), axis=-1)
    return [(split.masks[i] > 0) & (nearest == split.objects[i, j, shapes.COLOUR])
            for j in range(2)]


def test_masks_agree_with_images(split: shapes.ShapesSplit) -> None:
    for i in range(COUNT):
        image = split.images[i].astype(np.int32)
        background = split.masks[i] == 0
        # Background is dark; every shape pixel is bright in at least one channel.
        assert image[background].max(axis=-1).mean() < 90
        assert image[~background].max(axis=-1).min() > 150
        regions = _regions(split, i)
        # Every shape pixel belongs to exactly one object, told apart by colour.
        assert int(regions[0].sum() + regions[1].sum()) == int((~background).sum())
        for j in range(2):
            kind = split.objects[i, j, shapes.KIND]
            assert set(np.unique(split.masks[i][regions[j]])) == {kind + 1}


def test_small_shapes_are_smaller(split: shapes.ShapesSplit) -> None:
    areas = {0: [], 1: []}  # type: dict[int, list[int]]
    for i in range(COUNT):
        for j, region in enumerate(_regions(split, i)):
            areas[int(split.objects[i, j, shapes.SIZE])].append(int(region.sum()))
    assert max(areas[0]) < min(areas[1]) * 1.2
    assert np.mean(areas[0]) * 2 < np.mean(areas[1])


def test_captions_describe_the_image(split: shapes.ShapesSplit) -> None:
    for i in range(COUNT):
        regions = _regions(split, i)
        (ya, xa), (yb, xb) = (np.argwhere(r).mean(axis=0) for r in regions)
        if abs(xa - xb) >= abs(ya - yb):
            relation = "left of" if xa < xb else "right of"
        else:
            relation = "above" if ya < yb else "below"
        first = [COLOUR_NAMES[split.objects[i, 0, shapes.COLOUR]],
                 SHAPE_NAMES[split.objects[i, 0, shapes.KIND]]]
        second = [COLOUR_NAMES[split.objects[i, 1, shapes.COLOUR]],
                  SHAPE_NAMES[split.objects[i, 1, shapes.KIND]]]
        size = ["small", "little"] if split.objects[i, 0, shapes.SIZE] == 0 else ["large", "big"]
        refs = split.captions[i]
        assert refs[0].startswith(f"a {size[0]} ") or refs[0].startswith(f"a {size[1]} ")
        assert f"{first[0]} {first[1]} {relation} a " in refs[0]
        assert refs[0].endswith(f"{second[0]} {second[1]}")
        assert relation in refs[4] or relation in refs[2]
        for ref in refs:
            assert ref == ref.lower() and "  " not in ref
            assert first[0] in ref and second[0] in ref
            assert first[1] in ref and second[1] in ref
        assert len(set(refs)) == 5


def test_cache_is_written_once_and_read_back(tmp_path, monkeypatch) -> None:
    made = load_shapes("train", count=30, seed=1, cache_dir=tmp_path)
    files = list(tmp_path.iterdir())
    assert [f.suffix for f in files] == [".npz"]
    assert "train" in files[0].name and "n30" in files[0].name and "seed1" in files[0].name

    def no_generation(*_args: object) -> None:
        raise AssertionError("the cache was not used")

    monkeypatch.setattr(shapes, "_generate", no_generation)
    again = load_shapes("train", count=30, seed=1, cache_dir=tmp_path)
    np.testing.assert_array_equal(made.images, again.images)
    np.testing.assert_array_equal(made.masks, again.masks)
    np.testing.assert_array_equal(made.labels, again.labels)
    np.testing.assert_array_equal(made.objects, again.objects)
    assert made.captions == again.captions
    assert isinstance(again.captions[0][0], str)


def test_damaged_cache_is_made_again(tmp_path) -> None:
    load_shapes("val", count=5, cache_dir=tmp_path)
    (cached,) = tmp_path.iterdir()
    cached.write_bytes(b"not an npz")
    again = load_shapes("val", count=5, cache_dir=tmp_path)
    assert len(again) == 5 and len(list(tmp_path.iterdir())) == 1


def test_default_cache_dir_follows_the_runs_dir(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DLTUI_RUNS_DIR", str(tmp_path))
    assert shapes.default_cache_dir() == tmp_path / ".cache" / "shapes"


def test_plurals_in_captions() -> None:
    from dltui.data.shapes import plural

    assert [plural(k) for k in ("cross", "circle", "square", "triangle")] == [
        "crosses", "circles", "squares", "triangles"]
