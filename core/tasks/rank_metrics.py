"""Recall@k and median rank of cross-modal retrieval from a similarity matrix.

`sim` is N_images x N_texts; `image_of_text[j]` is the image caption j
describes (several captions may describe one image). Ranks start at 1 and
count the candidates scored strictly higher, so ties go in the query's favour.

- image -> text: an image's rank is that of its best-placed own caption
  among all texts.
- text -> image: a caption's rank is that of its image among all images.
"""

from __future__ import annotations

import numpy as np


def image_to_text_ranks(sim: np.ndarray, image_of_text: np.ndarray) -> np.ndarray:
    sim = np.asarray(sim, dtype=np.float64)
    owner = np.asarray(image_of_text)
    own = owner[None, :] == np.arange(sim.shape[0])[:, None]
    best_own = np.where(own, sim, -np.inf).max(axis=1)
    return (sim > best_own[:, None]).sum(axis=1) + 1


def text_to_image_ranks(sim: np.ndarray, image_of_text: np.ndarray) -> np.ndarray:
    sim = np.asarray(sim, dtype=np.float64)
    owner = np.asarray(image_of_text)
    true = sim[owner, np.arange(sim.shape[1])]
    return (sim > true[None, :]).sum(axis=0) + 1


def recall_at(ranks: np.ndarray, k: int) -> float:
    """The share of queries whose rank is at most k."""
    return float(np.mean(np.asarray(ranks) <= k))


def retrieval_scores(sim: np.ndarray, image_of_text: np.ndarray) -> dict[str, float]:
    """i_r1, i_r5, i_r10, i_medr (image -> text) and t_r1 ... t_medr (text -> image)."""
    scores: dict[str, float] = {}
    for prefix, ranks in (("i", image_to_text_ranks(sim, image_of_text)),
                          ("t", text_to_image_ranks(sim, image_of_text))):
        for k in (1, 5, 10):
            scores[f"{prefix}_r{k}"] = recall_at(ranks, k)
        scores[f"{prefix}_medr"] = float(np.median(ranks))
    return scores
