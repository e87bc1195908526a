"""Repeatability: the spread of a figure over the repeats of one measurement (`bench run --repeat N`).

For each API, payload size and phase, the N repeats give N values of a figure (throughput, p95 latency).
Their spread is reported as

- the coefficient of variation, CV = sample standard deviation / mean;
- a 95 % confidence interval of the mean: mean ± t(0.975, N − 1) · s / √N (Student's t-distribution,
  which is what a handful of repeats needs; the normal 1.96 would make the interval far too narrow).

Whether two neighbouring APIs of a ranking differ is decided by Welch's t-test on their repeats'
throughput at the 5 % level (two-sided, unequal variances): a difference with p ≥ 0.05 is "not
significant", smaller than the noise the repeats show. A single repeat has no spread: none of this is
computed and the report says that spread needs `--repeat` ≥ 2.
"""
from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Sequence

from scipy import stats

CONFIDENCE = 0.95
ALPHA = 0.05
CV_WARNING = 0.05  # a phase whose throughput varies more than this between repeats is warned about
METHOD = ("Welch's t-test on the repeats' throughput (two-sided, unequal variances) at the 5 % level; "
          "a difference with p ≥ 0.05 is marked not significant")


@dataclasses.dataclass(frozen=True)
class Spread:
    n: int
    mean: float
    sd: float
    cv: float | None  # None when the mean is 0
    ci_low: float
    ci_high: float

    def to_dict(self) -> dict[str, float | int | None]:
        return {"n": self.n, "mean": round(self.mean, 3), "sd": round(self.sd, 3),
                "cv": None if self.cv is None else round(self.cv, 4),
                "ciLow": round(self.ci_low, 3), "ciHigh": round(self.ci_high, 3)}


def spread(values: Sequence[float | None]) -> Spread | None:
    """CV and 95 % t-interval of the mean of the repeats' values; None with fewer than two values."""
    data = [float(v) for v in values if v is not None and math.isfinite(v)]
    if len(data) < 2:
        return None
    mean = statistics.fmean(data)
    sd = statistics.stdev(data)
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, len(data) - 1)) * sd / math.sqrt(len(data))
    return Spread(len(data), mean, sd, sd / mean if mean else None, mean - half, mean + half)


@dataclasses.dataclass(frozen=True)
class Difference:
    p_value: float | None
    significant: bool | None  # None: not tested (fewer than two repeats on a side)


def welch(a: Sequence[float | None], b: Sequence[float | None], alpha: float = ALPHA) -> Difference:
    """Welch's t-test of two sets of repeats; significant when p < alpha."""
    xs = [float(v) for v in a if v is not None]
    ys = [float(v) for v in b if v is not None]
    if len(xs) < 2 or len(ys) < 2:
        return Difference(None, None)
    if statistics.stdev(xs) == 0 and statistics.stdev(ys) == 0:  # no noise at all: any difference is real
        different = statistics.fmean(xs) != statistics.fmean(ys)
        return Difference(0.0 if different else 1.0, different)
    p_value = float(stats.ttest_ind(xs, ys, equal_var=False).pvalue)
    return Difference(p_value, p_value < alpha)


def cv_too_high(item: Spread | None, limit: float = CV_WARNING) -> bool:
    return item is not None and item.cv is not None and item.cv > limit
