"""The two variants of the embedded shapes: large overlapping shapes, long-tail captions."""

from __future__ import annotations

import numpy as np
import pytest

from dltui.data import shapes
from dltui.data.shapes import COLOUR_NAMES, SHAPE_NAMES, load_shapes
from dltui.data.shapes_variants import (
    COLOUR_WORDS,
    MIN_VISIBLE,
    RELATION_WORDS,
    SHAPE_WORDS,
    SIZE_WORDS,
    zipf_pick,
)

COUNT = 60
PATCH = 4  # the pretrain-vit backbone's patch side at 32 px


@pytest.fixture(scope="module")
def large() -> shapes.ShapesSplit:
    return load_shapes("val", image_size=32, count=COUNT, seed=2, variant="large")


def test_large_shapes_cover_many_patches(large: shapes.ShapesSplit) -> None:
    plain = load_shapes("val", image_size=32, count=COUNT, seed=2)
    assert (large.masks > 0).mean() > 3 * (plain.masks > 0).mean()
    for i in range(COUNT):
        for k in set(int(k) for k in large.objects[i, :, shapes.KIND]):
            ys, xs = np.nonzero(large.masks[i] == k + 1)
            # Every shape spans more than a 3 x 3 neighbourhood of patches.
            assert max(np.ptp(ys), np.ptp(xs)) + 1 > 3 * PATCH


def test_large_masks_are_the_visible_shape(large: shapes.ShapesSplit) -> None:
    for i in range(COUNT):
        kinds = [int(k) for k in large.objects[i, :, shapes.KIND]]
        present = set(np.unique(large.masks[i])) - {0}
        assert present == {k + 1 for k in kinds}
        image = large.images[i].astype(np.float32)
        nearest = np.argmin(((image[:, :, None, :] - shapes._RGB) ** 2).sum(-1), axis=-1)
        front = (large.masks[i] > 0) & (nearest == large.objects[i, 1, shapes.COLOUR])
        # The second shape is drawn on top: where its colour is, its kind is the label.
        assert set(np.unique(large.masks[i][front])) == {kinds[1] + 1}
        back = (large.masks[i] > 0) & (nearest == large.objects[i, 0, shapes.COLOUR])
        if kinds[0] != kinds[1]:
            assert back.sum() >= 0.5 * MIN_VISIBLE * np.pi * 7 ** 2  # radius >= 7.7 px


def test_variants_are_deterministic_and_cached_apart(tmp_path) -> None:
    a = load_shapes("train", image_size=32, count=8, seed=1, variant="large", cache_dir=tmp_path)
    b = load_shapes("train", image_size=32, count=8, seed=1, variant="large")
    np.testing.assert_array_equal(a.images, b.images)
    load_shapes("train", image_size=32, count=8, seed=1, cache_dir=tmp_path)
    names = sorted(f.name for f in tmp_path.iterdir())
    assert len(names) == 2 and names[0].startswith("shapes-large-")
    with pytest.raises(ValueError, match="variant"):
        load_shapes("train", count=1, variant="huge")


def test_long_tail_keeps_the_images_and_widens_the_words() -> None:
    plain = load_shapes("test", image_size=32, count=COUNT, seed=4)
    tail = load_shapes("test", image_size=32, count=COUNT, seed=4, variant="long-tail")
    np.testing.assert_array_equal(plain.images, tail.images)
    np.testing.assert_array_equal(plain.masks, tail.masks)
    words = {w for refs in tail.captions for ref in refs for w in ref.split()}
    plain_words = {w for refs in plain.captions for ref in refs for w in ref.split()}
    assert len(words) > 2 * len(plain_words)
    for i in range(COUNT):
        refs = tail.captions[i]
        assert len(refs) == 5 and all(r == r.lower() and "  " not in r for r in refs)
        for j in range(2):
            colour = COLOUR_NAMES[int(tail.objects[i, j, shapes.COLOUR])]
            kind = SHAPE_NAMES[int(tail.objects[i, j, shapes.KIND])]
            # Each reference names each object with one of its own synonyms.
            for ref in refs:
                assert any(f" {c} " in f" {ref} " for c in COLOUR_WORDS[colour])
                assert any(f" {s}" in f" {ref} " for s in SHAPE_WORDS[kind])
        relation = shapes.relation(tail.objects[i])
        assert any(f" {r} " in refs[0] for r in RELATION_WORDS[relation])


def test_zipf_pick_follows_one_over_rank() -> None:
    rng = np.random.default_rng(0)
    words = SIZE_WORDS[0]
    draws = [zipf_pick(words, rng) for _ in range(4000)]
    counts = np.array([draws.count(w) for w in words])
    expected = 4000 / np.arange(1, len(words) + 1) / (1 / np.arange(1, len(words) + 1)).sum()
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))


def test_backbone_at_a_finer_grid_keeps_its_position_pattern() -> None:
    import torch

    from dltui.tasks.seg_heads import at_resolution
    from dltui.tasks.vit import FrozenBackbone, SmallViT, VitShape

    shape = VitShape(image_size=16, patch_size=4, dim=8, depth=1, heads=2)
    model = SmallViT(shape)
    ramp = torch.linspace(-1, 1, 4)
    # A position embedding that varies smoothly left to right, the same in every row.
    model.pos_embed.data[0, 1:] = ramp.repeat(4)[:, None].expand(16, 8)
    backbone = FrozenBackbone("tiny", model, dim=8, patch_size=4, image_size=16,
                              mean=(0.5,) * 3, std=(0.5,) * 3, hugging_face=False)
    cls_before = model.pos_embed.data[0, 0].clone()
    at_resolution(backbone, 32)
    images = load_shapes("val", image_size=32, count=3, variant="large").images
    _, fmap = backbone.encode(images)
    assert fmap.shape == (3, 8, 8, 8) and backbone.image_size == 32
    pos = model.pos_embed.data[0]
    assert pos.shape == (65, 8)
    torch.testing.assert_close(pos[0], cls_before)
    rows = pos[1:, 0].reshape(8, 8)
    torch.testing.assert_close(rows, rows[:1].expand(8, 8))  # still the same in every row
    assert bool((rows[0, 1:] > rows[0, :-1]).all())  # still rising left to right


def test_the_tasks_take_the_variants_by_their_data_setting(tmp_path) -> None:
    import json

    from task_runs import TINY_VIT, only_run_dir, run_by_hand

    runs = tmp_path / "runs"
    done = run_by_hand("pretrain_vit", runs, *TINY_VIT, "data=shapes-large")
    assert done.returncode == 0, done.stderr
    backbone = only_run_dir(runs, "pretrain-vit")
    assert json.loads((backbone / "artifacts" / "config.json").read_text())["data"] == (
        "shapes-large")
    assert any(f.name.startswith("shapes-large-") for f in (runs / ".cache" / "shapes").iterdir())
    done = run_by_hand("seg_heads", runs, f"backbone_run={backbone}", "data=shapes-large",
                       "image_size=30", "epochs=1", "train_count=8", "val_count=4")
    assert done.returncode == 2 and "multiple of" in done.stderr and "Traceback" not in done.stderr
    for task in ("pretrain_vit", "blip_caption"):
        done = run_by_hand(task, runs, "data=shapes-huge")
        assert done.returncode == 2 and "shapes-" in done.stderr
        assert "Traceback" not in done.stderr
