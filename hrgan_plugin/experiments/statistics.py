"""Seed statistics of an experiment: per-arm mean with a Student-t 95% CI
(or a bootstrap interval for rates), the paired difference of an arm to the
baseline, its paired t-test with Holm's adjustment over arms, and the
smallest effect the seeds can detect."""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Summary:
    """Mean, sample standard deviation (n - 1) and the two-sided 95% CI
    ``mean +- t_{0.975, n-1} * sd / sqrt(n)`` of ``n`` values; ``sd`` and
    the CI are ``None`` for fewer than two values."""
    n: int
    mean: float
    sd: Optional[float]
    ci_low: Optional[float]
    ci_high: Optional[float]

    @property
    def half_width(self) -> Optional[float]:
        return None if self.ci_low is None else (self.ci_high - self.ci_low) / 2

    def excludes_zero(self) -> bool:
        return self.ci_low is not None and (self.ci_low > 0 or self.ci_high < 0)


def summarise(values: Sequence[float], level: float = 0.95) -> Summary:
    """:class:`Summary` of finite ``values`` (NaNs are dropped)."""
    xs = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    n = len(xs)
    if n == 0:
        return Summary(0, math.nan, None, None, None)
    mean = sum(xs) / n
    if n < 2:
        return Summary(n, mean, None, None, None)
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return Summary(n, mean, sd, mean - half, mean + half)


@dataclass(frozen=True)
class PairedDifference:
    """``arm - baseline`` over the seeds both have: the summary of the
    per-seed differences, the differences themselves (by seed), and how
    many seeds the arm won (better by the metric's direction), tied, lost."""
    diff: Summary
    per_seed: dict
    wins: int
    ties: int
    losses: int


def paired_difference(arm: dict, baseline: dict, higher_is_better: bool = True,
                      level: float = 0.95) -> PairedDifference:
    """Paired difference of two ``{seed: value}`` maps over their common
    seeds with finite values on both sides."""
    seeds = sorted(s for s in arm.keys() & baseline.keys()
                   if math.isfinite(arm[s]) and math.isfinite(baseline[s]))
    per_seed = {s: arm[s] - baseline[s] for s in seeds}
    sign = 1 if higher_is_better else -1
    wins = sum(1 for d in per_seed.values() if sign * d > 0)
    losses = sum(1 for d in per_seed.values() if sign * d < 0)
    return PairedDifference(summarise(list(per_seed.values()), level), per_seed, wins,
                            len(seeds) - wins - losses, losses)


def paired_t_pvalue(differences: Sequence[float]) -> float:
    """Two-sided p-value of the paired t-test, ``t = mean / (sd / sqrt(n))``
    with ``n - 1`` degrees of freedom; NaN for fewer than two differences,
    0 or 1 when every difference is equal (non-zero or zero)."""
    s = summarise(differences)
    if s.n < 2:
        return math.nan
    if s.sd == 0:
        return 1.0 if s.mean == 0 else 0.0
    t = s.mean / (s.sd / math.sqrt(s.n))
    return float(2 * stats.t.sf(abs(t), s.n - 1))


def holm(pvalues: dict) -> dict:
    """Holm's step-down adjustment of ``{name: p}`` over its ``m`` finite
    values: sorted ascending, ``p_(i) -> max_{j<=i} min(1, (m - j + 1) p_(j))``
    (Holm 1979). NaN values stay NaN and do not count in ``m``."""
    finite = sorted(((p, k) for k, p in pvalues.items() if math.isfinite(p)), key=lambda t: t[0])
    m = len(finite)
    adjusted, running = {k: math.nan for k in pvalues}, 0.0
    for i, (p, k) in enumerate(finite):
        running = max(running, min(1.0, (m - i) * p))
        adjusted[k] = running
    return adjusted


def bootstrap_interval(values: Sequence[float], level: float = 0.95,
                       draws: int = 20000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values``. Every
    resample mean lies within ``[min(values), max(values)]``, so the interval
    of a rate stays in [0, 1]. Up to 10 values the bootstrap distribution is
    exact: every multiset of ``n`` draws weighted by its multinomial
    probability; beyond, ``draws`` seeded resamples. The bounds are the
    smallest resample means whose cumulative probability reaches
    ``(1 - level) / 2`` and ``(1 + level) / 2``."""
    xs = np.asarray([float(v) for v in values if math.isfinite(float(v))])
    n = len(xs)
    if n < 2:
        raise ValueError(f'a bootstrap interval needs two or more values, got {n}')
    if n <= 10:
        counts = np.array([np.bincount(c, minlength=n) for c in
                           itertools.combinations_with_replacement(range(n), n)])
        # multinomial probability n! / (prod c_i!) / n^n of each multiset
        log_w = (math.lgamma(n + 1) - np.vectorize(math.lgamma)(counts + 1.0).sum(1)
                 - n * math.log(n))
        weights = np.exp(log_w)
        means = counts @ xs / n
    else:
        rng = np.random.default_rng(seed)
        means = xs[rng.integers(0, n, size=(draws, n))].mean(1)
        weights = np.full(draws, 1.0 / draws)
    order = np.argsort(means, kind='stable')
    means, cdf = means[order], np.cumsum(weights[order])
    tail = (1 - level) / 2

    def quantile(q: float) -> float:
        return float(means[min(np.searchsorted(cdf, q - 1e-12), len(means) - 1)])
    return quantile(tail), quantile(1 - tail)


def minimum_detectable_effect(sd: float, n: int, alpha: float = 0.05,
                              power: float = 0.8) -> float:
    """The smallest mean paired difference a two-sided paired t-test at
    ``alpha`` detects with probability ``power`` over ``n`` seeds, by the
    t approximation ``(t_{1-alpha/2, n-1} + t_{power, n-1}) * sd / sqrt(n)``;
    NaN for fewer than two seeds."""
    if n < 2 or not math.isfinite(sd):
        return math.nan
    df = n - 1
    return float((stats.t.ppf(1 - alpha / 2, df) + stats.t.ppf(power, df)) * sd / math.sqrt(n))
