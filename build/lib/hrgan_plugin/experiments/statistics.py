"""Seed statistics of an experiment: per-arm mean with a Student-t 95% CI,
and the paired difference of an arm to the baseline."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

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
