"""mIoU from intersection and union summed over a set, checked against values worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dltui.tasks.seg_metrics import IGNORE_INDEX, IoUCounter

X = IGNORE_INDEX

# Two 2 x 3 images, classes 0..2, some pixels ignored (255).
TRUE = [np.array([[0, 0, 1], [1, X, 2]]), np.array([[2, 2, 0], [X, X, 1]])]
PRED = [np.array([[0, 1, 1], [1, 2, 2]]), np.array([[2, 0, 0], [1, 1, 1]])]
# Kept (true, pred) pairs: image 1 (0,0) (0,1) (1,1) (1,1) (2,2); image 2 (2,2) (2,0) (0,0) (1,1).
# class 0: I = 2, true 3, pred 3, U = 4 -> 1/2
# class 1: I = 3, true 3, pred 4, U = 4 -> 3/4
# class 2: I = 2, true 3, pred 2, U = 3 -> 2/3
HAND_IOU = [1 / 2, 3 / 4, 2 / 3]


def test_miou_by_hand_with_ignored_pixels() -> None:
    counter = IoUCounter(3)
    for pred, true in zip(PRED, TRUE, strict=True):
        counter.add(pred, true)
    assert counter.intersection.tolist() == [2, 3, 2]
    assert counter.union.tolist() == [4, 4, 3]
    assert counter.per_class() == pytest.approx(HAND_IOU)
    assert counter.miou() == pytest.approx(sum(HAND_IOU) / 3)  # 0.6389


def test_ignored_pixels_do_not_count_even_where_predicted() -> None:
    # Predicting class 2 on the ignored pixel of image 1 would add 1 to its union if counted.
    counter = IoUCounter(3, ignore_index=X)
    counter.add(PRED[0], TRUE[0])
    kept = IoUCounter(3, ignore_index=-1)  # nothing ignored: the 255 pixel is a real label
    with pytest.raises(ValueError):
        kept.add(PRED[0], TRUE[0])  # 255 is not a class of three: refuse rather than miscount
    assert counter.union[2] == 1


def test_summed_over_the_set_not_averaged_per_image() -> None:
    counter = IoUCounter(3)
    counter.add(np.stack(PRED), np.stack(TRUE))
    per_image = []
    for pred, true in zip(PRED, TRUE, strict=True):
        one = IoUCounter(3)
        one.add(pred, true)
        per_image.append(one.miou())
    assert counter.miou() == pytest.approx(sum(HAND_IOU) / 3)
    assert counter.miou() != pytest.approx(float(np.mean(per_image)))


def test_absent_class_is_left_out_of_the_mean() -> None:
    counter = IoUCounter(4)  # class 3 is neither true nor predicted anywhere
    counter.add(np.stack(PRED), np.stack(TRUE))
    iou = counter.per_class()
    assert math.isnan(iou[3])
    assert counter.miou() == pytest.approx(sum(HAND_IOU) / 3)


def test_background_counts_like_any_class() -> None:
    counter = IoUCounter(2)
    counter.add(np.array([[0, 0, 1, 1]]), np.array([[0, 1, 1, 1]]))
    # background: I 1, U 2; class 1: I 2, U 3
    assert counter.miou() == pytest.approx((1 / 2 + 2 / 3) / 2)


def test_perfect_and_empty() -> None:
    counter = IoUCounter(3)
    counter.add(TRUE[0].clip(0, 2), TRUE[0].clip(0, 2))
    assert counter.miou() == 1.0
    assert math.isnan(IoUCounter(3).miou())
