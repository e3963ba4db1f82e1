"""What an experiment's runs say: per-metric statistics against the baseline,
the convergence verdict on the baseline's learning curve, and arms that
collapsed.

The spec's primary metric carries the verdict: paired t-tests of every arm
against the baseline and of the spec's ``contrasts`` (arm - reference),
Holm-adjusted over all of them. Every other metric is
exploratory (unadjusted). A metric bounded in [0, 1] (or the spec's
``bounds``) gets bootstrap intervals, which stay within its range.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Optional

from .results import by_seed, curve_by_seed
from .spec import ExperimentSpec
from .statistics import (
    PairedDifference,
    Summary,
    bootstrap_interval,
    holm,
    minimum_detectable_effect,
    paired_difference,
    paired_t_pvalue,
    summarise,
)

#: convergence rule: the baseline gained less than this share of its level
#: over the final quarter of the schedule (and less than the between-seed SD)
CONVERGED_RELATIVE = 0.02
#: an arm is collapsed when its primary mean is this share of the baseline's
#: mean (or more) worse than it
COLLAPSED_SHARE = 0.5


@dataclass
class MetricStats:
    """One metric over the spec's arms."""
    name: str
    direction: str
    primary: bool
    bound: Optional[tuple]
    saturated: Optional[float]          # the bound every run sits at, if any
    summaries: dict                     # arm -> Summary (bootstrap CI when bounded)
    paired: dict                        # non-baseline arm -> PairedDifference
    p: dict                             # arm -> paired t-test p-value
    p_holm: dict                        # arm or contrast -> Holm-adjusted p (primary only)
    mde: dict                           # arm or contrast -> minimum detectable effect (80% power)
    contrasts: dict = dataclasses.field(default_factory=dict)  # (arm, ref) -> PairedDifference

    @property
    def interval(self) -> str:
        return 'bootstrap' if self.bound else 't'


def metric_bound(spec: ExperimentSpec, results: list, metric: str) -> Optional[tuple]:
    """The spec's ``bounds`` for ``metric``, else (0, 1) when every value of it
    lies in [0, 1], else None."""
    if metric in spec.bounds:
        return spec.bounds[metric]
    values = [r['metrics'][metric] for r in results if metric in r['metrics']]
    finite = [v for v in values if math.isfinite(v)]
    if finite and all(0.0 <= v <= 1.0 for v in finite):
        return (0.0, 1.0)
    return None


def saturated_at(values: list, bound: Optional[tuple]) -> Optional[float]:
    """The bound every value equals (a metric that cannot move), else None."""
    if not bound or not values:
        return None
    for edge in bound:
        if all(v == edge for v in values):
            return float(edge)
    return None


def _bounded(s: Summary, values: list) -> Summary:
    if s.n < 2:
        return s
    low, high = bootstrap_interval(values)
    return dataclasses.replace(s, ci_low=low, ci_high=high)


def analyse_metric(spec: ExperimentSpec, results: list, metric: str) -> MetricStats:
    direction = spec.metrics.get(metric, 'higher')
    bound = metric_bound(spec, results, metric)
    arms = [a.name for a in spec.arms]
    values = {arm: by_seed(results, arm, metric) for arm in arms}
    summaries = {}
    for arm in arms:
        vals = list(values[arm].values())
        s = summarise(vals)
        summaries[arm] = _bounded(s, [v for v in vals if math.isfinite(v)]) if bound else s
    paired, p, mde, contrasts = {}, {}, {}, {}
    primary = metric == spec.primary
    pairs = [(arm, spec.baseline) for arm in arms if arm != spec.baseline]
    for arm, ref in pairs + (list(spec.contrasts) if primary else []):
        d = paired_difference(values[arm], values[ref], higher_is_better=direction == 'higher')
        key = arm if ref == spec.baseline else (arm, ref)
        (paired if ref == spec.baseline else contrasts)[key] = d
        p[key] = paired_t_pvalue(list(d.per_seed.values()))
        mde[key] = minimum_detectable_effect(d.diff.sd if d.diff.sd is not None else math.nan,
                                             d.diff.n)
    flat = [v for vals in values.values() for v in vals.values()]
    return MetricStats(metric, direction, primary, bound, saturated_at(flat, bound), summaries,
                       paired, p, holm(p) if primary else {}, mde, contrasts)


def analyse(spec: ExperimentSpec, results: list) -> dict:
    """``{metric: MetricStats}`` for the spec's metrics, primary first."""
    order = [spec.primary, *(m for m in spec.metrics if m != spec.primary)]
    return {m: analyse_metric(spec, results, m) for m in order}


def primary_verdict(arm: str, baseline: str, st: MetricStats, alpha: float = 0.05) -> str:
    """The primary comparison ``arm - baseline`` (the spec's baseline or a
    contrast's reference) in words, decided on the Holm-adjusted p."""
    key = (arm, baseline) if (arm, baseline) in st.contrasts else arm
    p: PairedDifference = st.paired[key] if key == arm else st.contrasts[key]
    if p.diff.n < 2:
        return 'fewer than two paired seeds: no test'
    adj = st.p_holm.get(key, math.nan)
    if not adj < alpha:
        return f'no difference resolved (Holm p = {adj:.3g})'
    higher = p.diff.mean > 0
    better = higher == (st.direction == 'higher')
    return f'{arm} {"better" if better else "worse"} than {baseline} (Holm p = {adj:.3g})'


def collapsed_arms(spec: ExperimentSpec, results: list) -> dict:
    """``{arm: 'diverged' or 'collapsed'}`` for arms whose primary metric
    diverged (a non-finite value) or whose mean is ``COLLAPSED_SHARE`` of the baseline's or more
    worse than it. Figures annotate them instead of scaling to them."""
    base = summarise(list(by_seed(results, spec.baseline, spec.primary).values()))
    out = {}
    for arm in (a.name for a in spec.arms if a.name != spec.baseline):
        vals = [r['metrics'].get(spec.primary, math.nan) for r in results if r['arm'] == arm]
        if any(not math.isfinite(v) for v in vals):
            out[arm] = 'diverged'
            continue
        s = summarise(vals)
        if not s.n or not math.isfinite(base.mean) or base.mean == 0:
            continue
        worse = (base.mean - s.mean) if spec.metrics[spec.primary] == 'higher' else (
            s.mean - base.mean)
        if worse >= COLLAPSED_SHARE * abs(base.mean):
            out[arm] = 'collapsed'
    return out


@dataclass
class Convergence:
    """The baseline's primary metric over the final quarter of its schedule."""
    recorded: bool
    converged: bool = False
    start_iter: int = 0
    end_iter: int = 0
    start: float = math.nan          # mean over seeds at the last point <= 75% of the schedule
    end: float = math.nan            # mean over seeds at the last point
    gain: float = math.nan           # end - start, in the metric's better direction
    sd: Optional[float] = None       # between-seed SD of the final value

    @property
    def relative(self) -> float:
        return self.gain / abs(self.start) if self.start else math.nan

    def line(self, baseline: str, metric: str) -> str:
        """The report's opening line."""
        if not self.recorded:
            return ('**Convergence unknown: curves not recorded** (each run validated once, '
                    'at its end), so no effect here is known to be the effect on a trained '
                    'model.')
        sd = 'n/a (one seed)' if self.sd is None else f'{self.sd:.4g}'
        where = (f'baseline `{baseline}`, {metric} {self.start:.4g} -> {self.end:.4g} from '
                 f'iteration {self.start_iter} to {self.end_iter}; between-seed SD {sd}')
        if self.converged:
            return (f'**Converged**: the baseline gained {self.gain:+.4g} '
                    f'({self.relative:+.1%}) over the last quarter, below '
                    f'{CONVERGED_RELATIVE:.0%} and below the between-seed SD ({where}).')
        return (f'**NOT CONVERGED: still improving by {self.gain:+.4g} ({self.relative:+.1%}) '
                f'over the last quarter** ({where}). Effects below are effects on a model '
                'still learning.')


def convergence(spec: ExperimentSpec, results: list) -> Convergence:
    """Judge the baseline's primary-metric learning curve: converged when
    its mean gain from the last validation point at or before 75% of the
    schedule to the last point is below ``CONVERGED_RELATIVE`` of its level
    and below the between-seed SD of the final value."""
    curves = curve_by_seed(results, spec.baseline, spec.primary)
    if not curves or max(len(c) for c in curves.values()) < 2:
        return Convergence(recorded=False)
    end_iter = max(max(c) for c in curves.values())
    early = [it for c in curves.values() for it in c if it <= 0.75 * end_iter]
    if not early:
        return Convergence(recorded=False)
    start_iter = max(early)
    starts = [c[start_iter] for c in curves.values() if start_iter in c and end_iter in c]
    ends = [c[end_iter] for c in curves.values() if start_iter in c and end_iter in c]
    if not ends:
        return Convergence(recorded=False)
    start, end = sum(starts) / len(starts), sum(ends) / len(ends)
    sign = 1 if spec.metrics[spec.primary] == 'higher' else -1
    gain = sign * (end - start)
    sd = summarise(ends).sd
    converged = gain < CONVERGED_RELATIVE * abs(start) and sd is not None and gain < sd
    return Convergence(True, converged, start_iter, end_iter, start, end, gain, sd)
