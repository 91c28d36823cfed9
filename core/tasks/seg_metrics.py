"""Mean IoU from intersection and union summed over a whole evaluation set.

Per class c: IoU_c = sum over images of |pred = c and true = c| divided by
the sum of |pred = c or true = c|, counting only pixels whose true label is
not the ignore index. mIoU is the mean over classes, background included;
a class that never occurs in truth or prediction (union 0) has no IoU and is
left out of the mean.
"""

from __future__ import annotations

import numpy as np

IGNORE_INDEX = 255


class IoUCounter:
    """Accumulates per-class intersection and union over batches of label maps."""

    def __init__(self, classes: int, ignore_index: int = IGNORE_INDEX) -> None:
        self.classes = classes
        self.ignore_index = ignore_index
        self.intersection = np.zeros(classes, np.int64)
        self.union = np.zeros(classes, np.int64)

    def add(self, pred: np.ndarray, true: np.ndarray) -> None:
        """Count one batch: `pred` and `true` integer label maps of the same shape."""
        pred = np.asarray(pred).reshape(-1).astype(np.int64)
        true = np.asarray(true).reshape(-1).astype(np.int64)
        keep = true != self.ignore_index
        pred, true = pred[keep], true[keep]
        k = self.classes
        for name, labels in (("prediction", pred), ("truth", true)):
            if labels.size and (labels.min() < 0 or labels.max() >= k):
                raise ValueError(f"{name} holds label {int(labels.max())} outside 0..{k - 1} "
                                 f"(ignore index {self.ignore_index})")
        joint = np.bincount(true * k + pred, minlength=k * k).reshape(k, k)
        inter = np.diag(joint)
        self.intersection += inter
        self.union += joint.sum(0) + joint.sum(1) - inter

    def per_class(self) -> np.ndarray:
        """IoU of every class; NaN where the union is empty."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.union > 0, self.intersection / np.maximum(self.union, 1),
                            np.nan)

    def miou(self) -> float:
        iou = self.per_class()
        return float(np.nanmean(iou)) if np.isfinite(iou).any() else float("nan")
