"""Comparing two runs, API by API and phase by phase, with a significance test.

In the spirit of pyperf's `compare_to`: a change is only called a change when a test on the raw samples
(or on the repeats) says it is unlikely to be noise; otherwise it is printed as "not significant".

Every interval is a 95 % confidence interval of the ratio B / A, computed on the log scale and turned back
into a ratio, so it is never below 0 (a change never below −100 %) and it is asymmetric around the
change as ratios are:

- Raw samples: a bootstrap of log(B / A). Throughput resamples each phase's per-interval request rates
  (the ratio of mean rates); each latency percentile resamples the requests (the ratio of the
  percentiles). The interval is the bootstrap's 2.5 and 97.5 percentiles of log(B / A), exponentiated; the
  p-value is twice the smaller share of resamples on either side of log(B / A) = 0.
- Repeats (two or more per side): Welch's t-test on the logarithms of the per-repeat figures; the interval
  is that of the ratio of geometric means. A bootstrap of two or three repeats would know only a handful
  of distinct resamples and give intervals far too narrow.
- Neither: no test; the change is shown but never called significant.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from scipy import stats

from reports.model import Run, parse_time, raw_samples
from reports.ranking import is_verified

METRICS = ("throughput", "p50", "p95", "p99")
_PERCENTILE = {"p50": 50, "p95": 95, "p99": 99}
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_MAX_SAMPLES = 5000
MIN_BINS = 20


@dataclasses.dataclass
class Change:
    api: str
    payload_size: str
    phase: str
    metric: str  # throughput (req/s, higher is better) or p50/p95/p99 (ms, lower is better)
    a: float
    b: float
    ratio: float  # b / a
    ci_low: float | None  # 95 % confidence interval of the ratio
    ci_high: float | None
    p_value: float | None
    method: str  # "samples", "repeats" or "none"
    significant: bool
    verified: bool  # both sides verified

    @property
    def better(self) -> bool:
        return self.ratio > 1 if self.metric == "throughput" else self.ratio < 1

    @property
    def percent(self) -> float:
        return (self.ratio - 1) * 100

    @property
    def factor(self) -> float:
        """How many times better or worse (always ≥ 1), as pyperf prints it."""
        return max(self.ratio, 1 / self.ratio) if self.ratio > 0 else float("inf")

    @property
    def verdict(self) -> str:
        if not self.significant:
            return "not significant" if self.method != "none" else "not tested (no samples)"
        return f"{self.factor:.2f}× {'better' if self.better else 'worse'}"

    def is_regression(self, threshold_percent: float = 0.0) -> bool:
        return self.significant and not self.better and abs(self.percent) > threshold_percent


def _log_welch(a: np.ndarray, b: np.ndarray, alpha: float) -> tuple[float | None, float | None, float | None]:
    """Repeats: p-value and interval of the ratio of geometric means, Welch's t-test on log figures."""
    if (a <= 0).any() or (b <= 0).any():
        return None, None, None  # no logarithm: not tested
    log_a, log_b = np.log(a), np.log(b)
    if np.ptp(log_a) == 0 and np.ptp(log_b) == 0:  # no spread on either side: the t-test is undefined
        ratio = float(np.exp(log_b[0] - log_a[0]))
        return (1.0 if ratio == 1 else 0.0), ratio, ratio
    test = stats.ttest_ind(log_b, log_a, equal_var=False)
    low, high = test.confidence_interval(1 - alpha)
    return float(test.pvalue), float(np.exp(low)), float(np.exp(high))


def _bin_rates(starts: list[float], phase: dict[str, Any]) -> np.ndarray:
    begin, end = parse_time(phase["start"]).timestamp(), parse_time(phase["end"]).timestamp()
    width = min(1.0, (end - begin) / MIN_BINS)
    bins = int((end - begin) // width)
    counts, _ = np.histogram(np.asarray(starts), bins=bins, range=(begin, begin + bins * width))
    return counts / width


def _log_interval(log_ratios: np.ndarray, alpha: float) -> tuple[float, float, float]:
    """p-value and interval of a ratio from bootstrap replicates of its logarithm."""
    low, high = np.percentile(log_ratios, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    p_value = min(1.0, 2 * min(float(np.mean(log_ratios <= 0)), float(np.mean(log_ratios >= 0))))
    return p_value, float(np.exp(low)), float(np.exp(high))


def _bootstrap_rate_ratio(a: np.ndarray, b: np.ndarray, alpha: float,
                          rng) -> tuple[float | None, float | None, float | None]:
    """Throughput: the ratio of mean per-interval rates, B / A, bootstrapped on the log scale."""
    means_a = a[rng.integers(0, len(a), (BOOTSTRAP_RESAMPLES, len(a)))].mean(axis=1)
    means_b = b[rng.integers(0, len(b), (BOOTSTRAP_RESAMPLES, len(b)))].mean(axis=1)
    valid = (means_a > 0) & (means_b > 0)
    if valid.sum() < BOOTSTRAP_RESAMPLES // 2:
        return None, None, None
    return _log_interval(np.log(means_b[valid]) - np.log(means_a[valid]), alpha)


def _bootstrap_ratios(a: np.ndarray, b: np.ndarray, alpha: float, rng) -> dict[str, tuple[float, float, float]]:
    """Per latency percentile: p-value and interval of percentile(B) / percentile(A), resampling each side,
    on the log scale.

    Large phases are first subsampled (without replacement) to keep a report interactive."""
    a = rng.choice(a, BOOTSTRAP_MAX_SAMPLES, replace=False) if len(a) > BOOTSTRAP_MAX_SAMPLES else a
    b = rng.choice(b, BOOTSTRAP_MAX_SAMPLES, replace=False) if len(b) > BOOTSTRAP_MAX_SAMPLES else b
    qs = list(_PERCENTILE.values())
    qa = np.percentile(a[rng.integers(0, len(a), (BOOTSTRAP_RESAMPLES, len(a)))], qs, axis=1)
    qb = np.percentile(b[rng.integers(0, len(b), (BOOTSTRAP_RESAMPLES, len(b)))], qs, axis=1)
    floor = np.finfo(float).tiny  # a latency of 0 ms (below the clock's resolution) stays on the log scale
    logs = np.log(np.maximum(qb, floor)) - np.log(np.maximum(qa, floor))
    return {metric: _log_interval(log_ratios, alpha) for metric, log_ratios in zip(_PERCENTILE, logs)}


def _figure(phase: dict[str, Any], metric: str) -> float:
    return phase["throughput"] if metric == "throughput" else phase["latencyMs"][metric]


def _group(run: Run) -> dict[tuple[str, str], list[dict[str, Any]]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for result in run.results:
        if result["phases"]:
            groups.setdefault((result["api"], result["payloadSize"]), []).append(result)
    return groups


def compare(run_a: Run, run_b: Run, alpha: float = 0.05, seed: int = 0) -> list[Change]:
    """Every metric of every phase that both runs measured for the same API and payload size."""
    rng = np.random.default_rng(seed)
    groups_a, groups_b = _group(run_a), _group(run_b)
    changes = []
    for key in [k for k in groups_a if k in groups_b]:
        results_a, results_b = groups_a[key], groups_b[key]
        verified = all(is_verified(r) for r in results_a + results_b)
        use_repeats = len(results_a) >= 2 and len(results_b) >= 2
        samples_a = samples_b = None
        if not use_repeats:
            samples_a, samples_b = raw_samples(run_a, results_a[0]), raw_samples(run_b, results_b[0])
        for phase_a in results_a[0]["phases"]:
            name = phase_a["name"]
            phases_a = [p for r in results_a for p in r["phases"] if p["name"] == name]
            phases_b = [p for r in results_b for p in r["phases"] if p["name"] == name]
            if not phases_b:
                continue
            latency_tests = None
            for metric in METRICS:
                a = float(np.median([_figure(p, metric) for p in phases_a]))
                b = float(np.median([_figure(p, metric) for p in phases_b]))
                p_value = low = high = None
                method = "none"
                if use_repeats:
                    method = "repeats"
                    p_value, low, high = _log_welch(np.array([_figure(p, metric) for p in phases_a], dtype=float),
                                                    np.array([_figure(p, metric) for p in phases_b], dtype=float),
                                                    alpha)
                elif samples_a and samples_b and name in samples_a.start_s and name in samples_b.start_s:
                    method = "samples"
                    if metric == "throughput":
                        p_value, low, high = _bootstrap_rate_ratio(
                            _bin_rates(samples_a.start_s[name], phase_a),
                            _bin_rates(samples_b.start_s[name], phases_b[0]), alpha, rng)
                    else:
                        latency_tests = latency_tests or _bootstrap_ratios(
                            np.asarray(samples_a.latency_ms[name]), np.asarray(samples_b.latency_ms[name]), alpha, rng)
                        p_value, low, high = latency_tests[metric]
                # p_value, low and high are set together: all None (not tested) or all numbers
                significant = (p_value is not None and low is not None and high is not None
                               and p_value < alpha and not (low <= 1 <= high))
                changes.append(Change(key[0], key[1], name, metric, a, b, b / a if a else float("nan"),
                                      low, high, p_value, method, significant, verified))
    return changes


def regressions(changes: list[Change], threshold_percent: float = 0.0) -> list[Change]:
    return [change for change in changes if change.is_regression(threshold_percent)]
