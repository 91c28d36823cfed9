"""Runs of one configuration over several seeds: mean ± std and n per metric, the
configurations ranked by mean, and a Welch t-test between the best and each other.

A configuration is an experiment and its params without `seed`; `seeds = 3` in the
manifest (or `dltui run --seeds 3`) makes runs that differ only there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from dltui.store.runs import RunInfo
from dltui.views.numbers import format_value

SEED_PARAM = "seed"


@dataclass(frozen=True)
class MeanStd:
    """A metric over a configuration's runs; prints as a paper's table cell."""

    mean: float
    std: float  # the sample standard deviation (n - 1); 0.0 for one run
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> MeanStd:
        n = len(values)
        mean = math.fsum(values) / n
        var = math.fsum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
        return cls(mean, math.sqrt(var), n)

    def __str__(self) -> str:
        if self.n < 2 or not math.isfinite(self.std):
            return f"{self.mean:.4g}"
        if self.std == 0:  # the same in every run (a parameter count): just the value
            return format_value(self.mean)
        # The std to one significant digit (two when it starts with a 1), the mean to match.
        exponent = math.floor(math.log10(self.std))
        digits = -exponent + (1 if f"{self.std:e}".startswith("1") else 0)
        digits = max(0, digits)
        return f"{self.mean:.{digits}f} ± {self.std:.{digits}f}"

    def to_json(self) -> dict[str, float | int]:
        return {"mean": self.mean, "std": self.std, "n": self.n}


def config_key(info: RunInfo) -> str:
    params = {k: v for k, v in info.spec.params.items() if k != SEED_PARAM}
    return f"{info.experiment}|{sorted((k, repr(v)) for k, v in params.items())}"


def seed_groups(runs: Sequence[RunInfo]) -> list[list[RunInfo]]:
    """The runs by configuration, in the order each configuration first appears."""
    groups: dict[str, list[RunInfo]] = {}
    for info in runs:
        groups.setdefault(config_key(info), []).append(info)
    return list(groups.values())


def has_seed_groups(runs: Sequence[RunInfo]) -> bool:
    """True when some configuration ran with more than one seed."""
    if not any(SEED_PARAM in r.spec.params for r in runs):
        return False  # no run has a seed: no need to group them
    return any(len({repr(r.spec.params.get(SEED_PARAM)) for r in group}) > 1
               for group in seed_groups(runs))


# ---- Welch's t-test -------------------------------------------------------------------

@dataclass(frozen=True)
class Welch:
    t: float
    df: float
    p: float  # two-sided


def welch_test(a: Sequence[float], b: Sequence[float]) -> Welch | None:
    """Welch's unequal-variance t-test of two samples; None when it is undefined (fewer
    than two values in one, or no spread in either)."""
    if len(a) < 2 or len(b) < 2:
        return None
    first, second = MeanStd.of(a), MeanStd.of(b)
    va, vb = first.std ** 2 / first.n, second.std ** 2 / second.n
    if va + vb == 0:
        return None
    t = (first.mean - second.mean) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (first.n - 1) + vb ** 2 / (second.n - 1))
    try:
        from scipy import stats
    except ImportError:
        return Welch(t, df, student_t_two_sided(t, df))
    return Welch(t, df, float(stats.t.sf(abs(t), df) * 2))


def student_t_two_sided(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with `df` degrees of freedom (df may be fractional)."""
    x = df / (df + t * t)
    return regularized_beta(x, df / 2.0, 0.5)


def regularized_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b), by the continued fraction of Numerical Recipes (section 6.4)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_fraction(x, a, b) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(1.0 - x, b, a) / b


def _beta_fraction(x: float, a: float, b: float) -> float:
    tiny, eps = 1e-300, 1e-15
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        for numerator in (m * (b - m) * x / ((qam + m2) * (a + m2)),
                          -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < eps:
            break
    return h

