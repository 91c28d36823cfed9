"""BLEU-4 both ways against values worked out by hand and against sacrebleu itself."""

from __future__ import annotations

import math

import pytest
import sacrebleu

from dltui.tasks.metrics_text import (
    brevity_penalty,
    closest_ref_length,
    corpus_bleu4,
    mean_sentence_bleu4,
    modified_precision,
    reference_streams,
    sentence_bleu4,
)

# Image 1: three references (9, 10 and 9 words); the 8-word hypothesis matches every
# 1-, 2- and 3-gram and 4 of its 5 4-grams ("a red circle left" is in no reference).
REFS_1 = ["a small red circle left of a blue square",
          "a red circle to the left of a blue square",
          "the blue square is right of the red circle"]
HYP_1 = "a red circle left of a blue square"
# Image 2: two references (7 and 8 words); 3 words, all matched, no 4-gram at all.
REFS_2 = ["a blue square above a red cross", "the red cross is below the blue square"]
HYP_2 = "a blue square"


def tokens(refs: list[str]) -> list[list[str]]:
    return [r.split() for r in refs]


def test_counts_by_hand() -> None:
    hyp = HYP_1.split()
    assert modified_precision(tokens(REFS_1), hyp, 1) == (8, 8)  # "a" twice, clipped at 2
    assert modified_precision(tokens(REFS_1), hyp, 2) == (7, 7)
    assert modified_precision(tokens(REFS_1), hyp, 3) == (6, 6)
    assert modified_precision(tokens(REFS_1), hyp, 4) == (4, 5)
    assert closest_ref_length(tokens(REFS_1), 8) == 9
    assert closest_ref_length(tokens(REFS_2), 3) == 7
    assert closest_ref_length([["x"] * 7, ["x"] * 9], 8) == 7  # a tie goes to the shorter
    assert brevity_penalty(9, 8) == pytest.approx(math.exp(-0.125))
    assert brevity_penalty(5, 8) == 1.0 and brevity_penalty(5, 0) == 0.0


def test_clipping() -> None:
    assert modified_precision([["the", "cat"]], ["the", "the", "the"], 1) == (1, 3)


def test_sentence_bleu_by_hand() -> None:
    # BP = exp(1 - 9/8); precisions 1, 1, 1, 4/5.
    expected = math.exp(1 - 9 / 8) * (4 / 5) ** 0.25
    assert sentence_bleu4(tokens(REFS_1), HYP_1.split()) == pytest.approx(expected, abs=1e-12)
    assert expected == pytest.approx(0.834614, abs=1e-6)
    # No 4-gram in the hypothesis: NLTK without smoothing gives (practically) zero.
    assert sentence_bleu4(tokens(REFS_2), HYP_2.split()) < 1e-70
    assert sentence_bleu4(tokens(REFS_2), ["green"]) == 0.0
    assert sentence_bleu4(tokens(REFS_1), REFS_1[1].split()) == pytest.approx(1.0)


def test_corpus_bleu_by_hand_and_with_sacrebleu() -> None:
    hyps, refs = [HYP_1, HYP_2], [REFS_1, REFS_2]
    # Summed counts: 11/11, 9/9, 7/7, 4/5; lengths: hypotheses 8 + 3, references 9 + 7.
    expected = math.exp(1 - 16 / 11) * (4 / 5) ** 0.25
    assert expected == pytest.approx(0.600297, abs=1e-6)
    assert corpus_bleu4(hyps, refs) == pytest.approx(expected, abs=1e-9)
    # The same as calling sacrebleu directly with K reference streams padded with None.
    direct = sacrebleu.corpus_bleu(hyps, [[REFS_1[0], REFS_2[0]], [REFS_1[1], REFS_2[1]],
                                          [REFS_1[2], None]])
    assert corpus_bleu4(hyps, refs) == pytest.approx(direct.score / 100)
    # A single sentence: corpus and sentence BLEU agree.
    assert corpus_bleu4([HYP_1], [REFS_1]) == pytest.approx(
        sentence_bleu4(tokens(REFS_1), HYP_1.split()))


def test_mean_of_sentences_is_not_corpus_bleu() -> None:
    hyps, refs = [HYP_1, HYP_2], [REFS_1, REFS_2]
    mean = mean_sentence_bleu4(hyps, refs)
    assert mean == pytest.approx((math.exp(-0.125) * 0.8 ** 0.25) / 2, abs=1e-9)
    assert mean < corpus_bleu4(hyps, refs)


def test_reference_streams_pad_with_none() -> None:
    assert reference_streams([["a", "b", "c"], ["d"]]) == [["a", "d"], ["b", None], ["c", None]]


def test_lengths_must_match() -> None:
    with pytest.raises(ValueError):
        corpus_bleu4(["a"], [])
    with pytest.raises(ValueError):
        mean_sentence_bleu4(["a"], [])
    assert corpus_bleu4([], []) == 0.0 and mean_sentence_bleu4([], []) == 0.0
