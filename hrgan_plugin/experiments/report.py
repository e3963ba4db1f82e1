"""An experiment's ``report.md``.

It opens with the convergence verdict on the baseline, then the primary
metric (paired t-tests, Holm-adjusted over the arms, the verdict and the
smallest effect the seeds could detect), then the exploratory metrics
(unadjusted), mechanism checks, per-seed values and training scalars. Every
figure is stated as measured on the synthetic data.
"""
from __future__ import annotations

import math
import os.path as osp
from typing import Optional

from .analysis import MetricStats, analyse, collapsed_arms, convergence, primary_verdict
from .baseline_curve import stage_summary
from .results import by_seed
from .spec import ExperimentSpec
from .statistics import PairedDifference, Summary, summarise

#: metric-name prefix of the mechanism checks a run writes into its result
MECHANISM_PREFIX = 'mech/'


def _fmt(value: Optional[float]) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return 'n/a'
    return f'{value:.4f}'


def _p(value: float) -> str:
    return 'n/a' if not math.isfinite(value) else f'{value:.3g}'


def _ci(s: Summary) -> str:
    if s.ci_low is None:
        return 'n/a'
    return f'[{_fmt(s.ci_low)}, {_fmt(s.ci_high)}]'


def verdict(arm: str, baseline: str, direction: str, p: PairedDifference) -> str:
    """An exploratory comparison in words, from its unadjusted 95% CI."""
    d = p.diff
    if d.n == 0:
        return 'no paired seeds'
    if d.n < 2:
        return 'one paired seed: no CI can be given'
    if not d.excludes_zero():
        return f'the 95% CI includes 0: no difference resolved with {d.n} seeds'
    higher = d.mean > 0
    better = higher == (direction == 'higher')
    return (f'the 95% CI excludes 0: {arm} is {"higher" if higher else "lower"} than '
            f'{baseline} ({"better" if better else "worse"})')


def _arm_text(arm) -> str:
    options = ''.join(f', `{k}={v}`' for k, v in arm.cfg_options.items())
    return f'`{arm.name}` (`{arm.config}`{options})'


def _interval_note(st: MetricStats) -> str:
    if st.bound:
        return (f'Per-arm intervals: exact percentile bootstrap over seeds (stays within '
                f'[{st.bound[0]:g}, {st.bound[1]:g}]; with few seeds it is narrower than '
                'Student t would be: read it as a range, the verdict is the t-test)')
    return 'Per-arm intervals: Student t over seeds'


def primary_section(spec: ExperimentSpec, st: MetricStats) -> list:
    lines = [f'## Primary metric: {st.name} ({st.direction} is better)', '',
             f'Paired t-test of each arm against `{spec.baseline}`'
             + (' and of each contrast below' if st.contrasts else '')
             + f', Holm-adjusted over the {len(st.p)} comparison(s); the verdict uses the '
             'adjusted p at 0.05. MDE: the '
             'smallest mean difference these seeds detect with 80% power (two-sided, '
             f'alpha 0.05), from the SD of the paired differences. {_interval_note(st)}.', '']
    if st.saturated is not None:
        return lines + [f'{st.name} is saturated at {st.saturated:g} in every run: '
                        'nothing to compare.']
    lines += ['| arm | n | mean | 95% CI | difference | 95% CI of difference | '
              'wins / ties / losses | p | Holm p | MDE | verdict |',
              '|---|---|---|---|---|---|---|---|---|---|---|']
    for arm, s in st.summaries.items():
        if arm == spec.baseline:
            lines.append(f'| {arm} (baseline) | {s.n} | {_fmt(s.mean)} | {_ci(s)} | | | | | | '
                         '| |')
            continue
        p = st.paired[arm]
        lines.append(
            f'| {arm} | {s.n} | {_fmt(s.mean)} | {_ci(s)} | {_fmt(p.diff.mean)} | '
            f'{_ci(p.diff)} | {p.wins} / {p.ties} / {p.losses} | {_p(st.p[arm])} | '
            f'{_p(st.p_holm[arm])} | {_fmt(st.mde[arm])} | '
            f'{primary_verdict(arm, spec.baseline, st)} |')
    if st.contrasts:
        lines += ['', '| contrast | n | difference | 95% CI of difference | '
                  'wins / ties / losses | p | Holm p | MDE | verdict |',
                  '|---|---|---|---|---|---|---|---|---|']
    for (arm, ref), p in st.contrasts.items():
        lines.append(
            f'| {arm} - {ref} | {p.diff.n} | {_fmt(p.diff.mean)} | {_ci(p.diff)} | '
            f'{p.wins} / {p.ties} / {p.losses} | {_p(st.p[arm, ref])} | '
            f'{_p(st.p_holm[arm, ref])} | {_fmt(st.mde[arm, ref])} | '
            f'{primary_verdict(arm, ref, st)} |')
    return lines


def exploratory_section(spec: ExperimentSpec, stats: dict) -> list:
    lines = ['', '## Exploratory metrics (unadjusted)', '',
             'Not corrected for multiplicity: read these as leads, not findings.', '']
    rows, saturated = [], []
    for st in stats.values():
        if st.primary:
            continue
        if st.saturated is not None:
            saturated.append(f'- {st.name} is saturated at {st.saturated:g} in every run: not '
                             'compared, not plotted.')
            continue
        for arm, s in st.summaries.items():
            if arm == spec.baseline:
                rows.append(f'| {st.name} | {arm} (baseline) | {_fmt(s.mean)} | {_ci(s)} | | | '
                            '| | |')
                continue
            p = st.paired[arm]
            rows.append(f'| {st.name} ({st.direction} is better) | {arm} | {_fmt(s.mean)} | '
                        f'{_ci(s)} | {_fmt(p.diff.mean)} | {_ci(p.diff)} | {_p(st.p[arm])} | '
                        f'{_fmt(st.mde[arm])} | '
                        f'{verdict(arm, spec.baseline, st.direction, p)} |')
    if rows:
        lines += ['| metric | arm | mean | 95% CI | difference | 95% CI of difference | p | '
                  'MDE | in words |', '|---|---|---|---|---|---|---|---|---|', *rows]
    return lines + ([''] + saturated if saturated else [])


def mechanism_section(spec: ExperimentSpec, results: list) -> list:
    """Per arm, the mean and interval of every mechanism check its runs wrote."""
    names = sorted({k for r in results for k in r['metrics'] if k.startswith(MECHANISM_PREFIX)})
    rows = []
    for name in names:
        for arm in (a.name for a in spec.arms):
            vals = list(by_seed(results, arm, name).values())
            if vals:
                s = summarise(vals)
                rows.append(f'| {name} | {arm} | {s.n} | {_fmt(s.mean)} | {_ci(s)} |')
    if not rows:
        return []
    return ['', '## Mechanism checks', '',
            'Computed at the end of each run on the val set (tools/mechanism_check.py): '
            'whether each method does what its paper says it does.', '',
            '| check | arm | runs | mean | 95% CI (t) |', '|---|---|---|---|---|', *rows]


def kept_section(path: str, title: str) -> list:
    """The lines of section ``## title`` of an earlier report (empty if none):
    what a report regenerated from ``runs.csv`` cannot recompute."""
    if not osp.isfile(path):
        return []
    lines, keep = [], False
    with open(path) as f:
        for line in f.read().splitlines():
            if line.startswith('## '):
                keep = line == f'## {title}'
            if keep:
                lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return ([''] + lines) if lines else []


def _stage1_lines(spec: ExperimentSpec) -> list:
    """The report's line on the stage 1 the arms start from (none without one)."""
    start = '- every arm starts from the final weights of '
    if spec.pretrain is not None:
        return [start + ("its seed's pretrain run" if spec.pretrain_seed is None else
                         f'one pretrain run (seed {spec.pretrain_seed}) shared by every seed')
                + f': {_arm_text(spec.pretrain)}']
    if spec.pretrain_per_arm is None:
        return []
    options = ', '.join(f'`{k}={v}`' for k, v in spec.pretrain_per_arm.items())
    shared = '' if spec.pretrain_seed is None else f', seed {spec.pretrain_seed} for every seed'
    return [start + f"its own stage 1 (`_pretrain-ARM`: the arm's config{shared}, then "
            + (options or 'no further options') + ')']


def write_report(out_dir: str, spec: ExperimentSpec, results: list,
                 environment: dict, plots: list, kept: Optional[list] = None,
                 pretrain: tuple = ()) -> str:
    """Write ``report.md`` into ``out_dir``; returns its path. ``kept``:
    lines of an earlier report to carry over (its training-scalars table,
    when the runs that logged them are gone); ``pretrain``: the spec's
    finished stage-1 runs."""
    stats = analyse(spec, results)
    seeds = sorted({r['seed'] for r in results})
    arms_run = {r['arm'] for r in results}
    partial = sum(1 for a in spec.arms for s in spec.seeds
                  if any(r['arm'] == a.name and r['seed'] == s for r in results))
    total = len(spec.arms) * len(spec.seeds)
    lines = [f'# Experiment `{spec.name}` (synthetic data)', '',
             convergence(spec, results).line(spec.baseline, spec.primary), '']
    if partial < total:
        lines += [f'**Partial: {partial} of {total} runs.**', '']
    if spec.description:
        lines += [spec.description, '']
    lines += [
        f'- spec: `{spec.path}`',
        f'- arms: {", ".join(_arm_text(a) for a in spec.arms if a.name in arms_run)}; '
        f'baseline `{spec.baseline}`',
        *_stage1_lines(spec),
        *filter(None, [stage_summary(spec, list(pretrain))]),
        f'- seeds: {seeds} ({len(seeds)} paired)',
        '- schedule: ' + (', '.join(f'`{k}={v}`' for k, v in spec.schedule.items())
                          or 'as configured'),
        *(f'- {k}: {v}' for k, v in environment.items()),
        '',
        'All figures are measured on rendered (synthetic) data, not on COCO or MPII. '
        'The paired difference is `arm - baseline` per seed; wins count the seeds where '
        'the arm was better by the metric\'s direction.',
        '']
    collapsed = collapsed_arms(spec, results)
    if collapsed:
        primary = stats[spec.primary].summaries
        lines += ['Arms annotated in the figures, not scaled to: ' + ', '.join(
            f'`{a}` {kind} ({spec.primary} mean {primary[a].mean:.3g})'
            for a, kind in collapsed.items()) + '.', '']
    if len(seeds) < 2:
        lines += ['**One seed only: no confidence interval can be given.**', '']
    lines += primary_section(spec, stats[spec.primary])
    lines += exploratory_section(spec, stats)
    lines += mechanism_section(spec, results)
    lines += stage1_table(spec, pretrain)
    lines += ['', '## Per seed', '',
              '| arm | seed | ' + ' | '.join(spec.metrics) + ' | wall (s) | iters |',
              '|---|---|' + '---|' * (len(spec.metrics) + 2)]
    order = [a.name for a in spec.arms]
    for r in sorted(results, key=lambda r: (order.index(r['arm']), r['seed'])):
        vals = ' | '.join(_fmt(r['metrics'].get(m)) for m in spec.metrics)
        lines.append(f'| {r["arm"]} | {r["seed"]} | {vals} | {r["wall_s"]:.0f} | '
                     f'{r["iters"]} |')
    lines += curve_table(spec, results) or (kept or [])
    if plots:
        lines += ['', '## Plots', '']
        lines += [f'![{osp.splitext(p)[0]}]({p})' for p in plots]
    path = osp.join(out_dir, 'report.md')
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


def stage1_table(spec: ExperimentSpec, pretrain) -> list:
    """Markdown lines when each arm trains its own stage 1: per arm, the
    primary metric at the end of its finished stage-1 runs (``pretrain``),
    where the arm's judged phase starts; empty otherwise."""
    if spec.pretrain_per_arm is None:
        return []
    rows = []
    for arm in spec.arms:
        name = spec.pretrain_of(arm).name
        ends = {r['seed']: r['metrics'][spec.primary] for r in pretrain
                if r['arm'] == name and spec.primary in r['metrics']}
        if ends:
            each = ', '.join(f'{ends[seed]:.4g} (seed {seed})' for seed in sorted(ends))
            rows.append(f'| {arm.name} | {len(ends)} | '
                        f'{_fmt(summarise(list(ends.values())).mean)} | {each} |')
    if not rows:
        return []
    return ['', '## Stage 1 per arm', '',
            f'{spec.primary} at the end of each arm\'s own stage 1 (`_pretrain-ARM`), where its '
            'judged phase starts (untested: the comparison judged is the phase\'s, above).', '',
            f'| arm | runs | {spec.primary}, mean | per seed |', '|---|---|---|---|', *rows]


def curve_table(spec: ExperimentSpec, results: list) -> list:
    """Markdown lines: per training-curve key and arm, the mean over seeds
    of each run's average and of its last logged value (empty without
    curves)."""
    rows = []
    for key in spec.curves:
        for arm in spec.arms:
            runs = [r['curves'][key] for r in results
                    if r['arm'] == arm.name and r.get('curves', {}).get(key)]
            if not runs:
                continue
            averages = summarise([sum(v for _, v in c) / len(c) for c in runs])
            last = [c[-1][1] for c in runs]
            rows.append(f'| {key} | {arm.name} | {len(runs)} | {averages.mean:.3g} | '
                        f'{sum(last) / len(last):.3g} | {min(last):.3g} .. {max(last):.3g} |')
    if not rows:
        return []
    return ['', '## Training scalars', '',
            'Logged values (as the logger smooths them) over each run; mean over seeds.', '',
            '| key | arm | runs | run average | last value | last value, range over seeds |',
            '|---|---|---|---|---|---|', *rows]


def published_environment(report: str, now: dict) -> dict:
    """The machine and date of the runs behind a published report, and when
    it was regenerated."""
    found = {}
    if osp.isfile(report):
        with open(report) as f:
            for line in f:
                for key in ('machine', 'written'):
                    if line.startswith(f'- {key}: '):
                        found[key] = line[len(key) + 4:].strip()
    return {**found, 'regenerated from runs.csv': now['written']}
