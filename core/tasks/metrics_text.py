"""BLEU-4 of generated captions, two ways.

- `corpus_bleu4`: sacrebleu's corpus BLEU with every reference of every image
  (the standard figure: n-gram counts summed over the corpus, one brevity
  penalty for the corpus).
- `mean_sentence_bleu4`: the mean over images of NLTK-style sentence BLEU-4
  (`nltk.translate.bleu_score.sentence_bleu` with its defaults: uniform
  weights, no smoothing), the figure many homework reports quote. Without
  smoothing a sentence with no matching 4-gram scores (practically) zero.

Both return a fraction in [0, 1] (sacrebleu's 0..100 score divided by 100).
Captions are lowercase words separated by spaces.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from collections.abc import Sequence

MAX_ORDER = 4


def corpus_bleu4(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """sacrebleu corpus BLEU-4 of `hypotheses[i]` against all of `references[i]`, in [0, 1]."""
    import sacrebleu

    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} reference lists")
    if not hypotheses:
        return 0.0
    streams = reference_streams(references)
    return float(sacrebleu.corpus_bleu(list(hypotheses), streams).score) / 100  # type: ignore[arg-type]


def reference_streams(references: Sequence[Sequence[str]]) -> list[list[str | None]]:
    """sacrebleu's layout: K streams, stream k holding each image's k-th reference or None."""
    width = max((len(refs) for refs in references), default=0)
    return [[refs[k] if k < len(refs) else None for refs in references] for k in range(width)]


def _ngrams(tokens: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def modified_precision(references: Sequence[Sequence[str]], hypothesis: Sequence[str],
                       n: int) -> tuple[int, int]:
    """Clipped n-gram matches and the hypothesis' n-gram count (at least 1), as NLTK counts them."""
    counts = _ngrams(hypothesis, n)
    most: Counter[tuple[str, ...]] = Counter()
    for ref in references:
        for gram, c in _ngrams(ref, n).items():
            most[gram] = max(most[gram], c)
    matched = sum(min(c, most[gram]) for gram, c in counts.items())
    return matched, max(1, sum(counts.values()))


def closest_ref_length(references: Sequence[Sequence[str]], hyp_len: int) -> int:
    """The reference length nearest the hypothesis length; the shorter one on a tie."""
    return min((len(ref) for ref in references), key=lambda r: (abs(r - hyp_len), r))


def brevity_penalty(closest_ref_len: int, hyp_len: int) -> float:
    if hyp_len > closest_ref_len:
        return 1.0
    if hyp_len == 0:
        return 0.0
    return math.exp(1 - closest_ref_len / hyp_len)


def sentence_bleu4(references: Sequence[Sequence[str]], hypothesis: Sequence[str]) -> float:
    """NLTK's `sentence_bleu(references, hypothesis)` with default weights and no smoothing."""
    matches = [modified_precision(references, hypothesis, n) for n in range(1, MAX_ORDER + 1)]
    if matches[0][0] == 0:
        return 0.0
    # NLTK (smoothing method0) puts the smallest float for a zero precision.
    logs = [math.log(m / d) if m else math.log(sys.float_info.min) for m, d in matches]
    bp = brevity_penalty(closest_ref_length(references, len(hypothesis)), len(hypothesis))
    return bp * math.exp(math.fsum(logs) / MAX_ORDER)


def mean_sentence_bleu4(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """The mean of `sentence_bleu4` over images; captions split on whitespace."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} reference lists")
    if not hypotheses:
        return 0.0
    scores = [sentence_bleu4([r.split() for r in refs], hyp.split())
              for hyp, refs in zip(hypotheses, references, strict=True)]
    return math.fsum(scores) / len(scores)
