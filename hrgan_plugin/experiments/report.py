"""An experiment's outputs: ``runs.csv``, ``report.md`` and PNG plots.

Every figure is stated as measured on the synthetic data; per-arm values are
mean +- 95% CI over seeds, and each non-baseline arm is compared with the
baseline by the paired (per-seed) difference.
"""
from __future__ import annotations

import csv
import math
import os.path as osp
from typing import Optional

from .spec import ExperimentSpec
from .statistics import PairedDifference, Summary, paired_difference, summarise

CSV_FIXED = ('arm', 'seed')
CSV_TAIL = ('wall_s', 'iters')


def _fmt(value: Optional[float]) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return 'n/a'
    return f'{value:.4f}'


def metric_columns(spec: ExperimentSpec, results: list) -> list:
    """The spec's metrics first, then every other final metric, sorted."""
    others = sorted({k for r in results for k in r['metrics']} - set(spec.metrics))
    return [*spec.metrics, *others]


def write_runs_csv(path: str, spec: ExperimentSpec, results: list) -> None:
    """One row per (arm, seed): ``arm, seed``, every final metric, wall
    time (s) and iterations."""
    columns = metric_columns(spec, results)
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow([*CSV_FIXED, *columns, *CSV_TAIL])
        for r in results:
            writer.writerow([r['arm'], r['seed'], *(r['metrics'].get(c, '') for c in columns),
                             round(r['wall_s'], 1), r['iters']])


def read_runs_csv(path: str) -> list:
    """The rows of a ``runs.csv`` back as result dicts (metrics as floats)."""
    with open(path, newline='') as f:
        rows = list(csv.DictReader(f))
    results = []
    for row in rows:
        metrics = {k: float(v) for k, v in row.items()
                   if k not in CSV_FIXED + CSV_TAIL and v != ''}
        results.append(dict(arm=row['arm'], seed=int(row['seed']), metrics=metrics,
                            wall_s=float(row['wall_s']), iters=int(row['iters'])))
    return results


def by_seed(results: list, arm: str, metric: str) -> dict:
    return {r['seed']: float(r['metrics'][metric]) for r in results
            if r['arm'] == arm and metric in r['metrics']}


def analyse(spec: ExperimentSpec, results: list) -> dict:
    """Per metric: ``{arm: Summary}`` and ``{arm: PairedDifference}`` for
    every non-baseline arm."""
    out = {}
    for metric, direction in spec.metrics.items():
        summaries = {a.name: summarise(list(by_seed(results, a.name, metric).values()))
                     for a in spec.arms}
        base = by_seed(results, spec.baseline, metric)
        paired = {a.name: paired_difference(by_seed(results, a.name, metric), base,
                                            higher_is_better=direction == 'higher')
                  for a in spec.arms if a.name != spec.baseline}
        out[metric] = dict(summaries=summaries, paired=paired)
    return out


def _ci(s: Summary) -> str:
    if s.ci_low is None:
        return 'n/a'
    return f'[{_fmt(s.ci_low)}, {_fmt(s.ci_high)}]'


def verdict(arm: str, baseline: str, direction: str, p: PairedDifference) -> str:
    """The paired comparison in words."""
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


def write_report(out_dir: str, spec: ExperimentSpec, results: list,
                 environment: dict, plots: list) -> str:
    """Write ``report.md`` into ``out_dir``; returns its path."""
    stats = analyse(spec, results)
    seeds = sorted({r['seed'] for r in results})
    lines = [f'# Experiment `{spec.name}` (synthetic data)', '']
    if spec.description:
        lines += [spec.description, '']
    lines += [
        f'- spec: `{spec.path}`',
        f'- arms: {", ".join(_arm_text(a) for a in spec.arms)}; baseline `{spec.baseline}`',
        *([f'- every arm starts from its seed\'s pretrain run: {_arm_text(spec.pretrain)}']
          if spec.pretrain else []),
        f'- seeds: {seeds} ({len(seeds)} paired)',
        '- schedule: ' + (', '.join(f'`{k}={v}`' for k, v in spec.schedule.items())
                          or 'as configured'),
        *(f'- {k}: {v}' for k, v in environment.items()),
        '',
        'All figures are measured on rendered (synthetic) data, not on COCO or MPII. '
        'Mean +- 95% CI is Student t over seeds; the paired difference is '
        '`arm - baseline` per seed, and wins count the seeds where the arm was '
        'better by the metric\'s direction.',
        '']
    if len(seeds) < 2:
        lines += ['**One seed only: no confidence interval can be given.**', '']
    lines += ['## Per arm', '',
              '| metric | arm | n | mean | SD (between seeds) | 95% CI |',
              '|---|---|---|---|---|---|']
    for metric, st in stats.items():
        for arm, s in st['summaries'].items():
            lines.append(f'| {metric} | {arm} | {s.n} | {_fmt(s.mean)} | {_fmt(s.sd)} | '
                         f'{_ci(s)} |')
    if len(spec.arms) > 1:
        lines += ['', f'## Paired difference to `{spec.baseline}`', '',
                  '| metric | arm | mean difference | SD of differences | 95% CI | '
                  'wins / ties / losses | in words |', '|---|---|---|---|---|---|---|']
        for metric, st in stats.items():
            for arm, p in st['paired'].items():
                lines.append(
                    f'| {metric} ({spec.metrics[metric]} is better) | {arm} | '
                    f'{_fmt(p.diff.mean)} | {_fmt(p.diff.sd)} | {_ci(p.diff)} | '
                    f'{p.wins} / {p.ties} / {p.losses} | '
                    f'{verdict(arm, spec.baseline, spec.metrics[metric], p)} |')
    lines += ['', '## Per seed', '',
              '| arm | seed | ' + ' | '.join(spec.metrics) + ' | wall (s) | iters |',
              '|---|---|' + '---|' * (len(spec.metrics) + 2)]
    for r in sorted(results, key=lambda r: ([a.name for a in spec.arms].index(r['arm']),
                                            r['seed'])):
        vals = ' | '.join(_fmt(r['metrics'].get(m)) for m in spec.metrics)
        lines.append(f'| {r["arm"]} | {r["seed"]} | {vals} | {r["wall_s"]:.0f} | '
                     f'{r["iters"]} |')
    lines += curve_table(spec, results)
    if plots:
        lines += ['', '## Plots', '']
        lines += [f'![{osp.splitext(p)[0]}]({p})' for p in plots]
    path = osp.join(out_dir, 'report.md')
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


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


def _mean_ci(ax, x: float, s: Summary) -> None:
    """A black diamond at the mean with the 95% CI as error bar."""
    if s.n:
        err = None if s.ci_low is None else [[s.mean - s.ci_low], [s.ci_high - s.mean]]
        ax.errorbar([x], [s.mean], yerr=err, fmt='D', color='black', capsize=4, markersize=5)


def _save(fig, out_dir: str, name: str, title: str) -> str:
    import matplotlib.pyplot as plt
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(osp.join(out_dir, name), dpi=110)
    plt.close(fig)
    return name


def plot_all(out_dir: str, spec: ExperimentSpec, results: list) -> list:
    """Write the PNG plots; returns their file names (relative to
    ``out_dir``). Training curves come from each result's ``curves``
    (``{key: [(iter, value)]}``), when it has them."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    stats = analyse(spec, results)
    arms = [a.name for a in spec.arms]
    colours = {a: plt.get_cmap('tab10')(i % 10) for i, a in enumerate(arms)}
    written = []
    metrics = list(spec.metrics)

    fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics) + 0.5, 3.6),
                             squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for i, arm in enumerate(arms):
            vals = by_seed(results, arm, metric)
            xs = [i - 0.15 + 0.3 * j / max(len(vals) - 1, 1) for j in range(len(vals))]
            ax.scatter(xs, list(vals.values()), s=18, color=colours[arm], alpha=0.7)
            _mean_ci(ax, i + 0.3, stats[metric]['summaries'][arm])
        ax.set_xticks(range(len(arms)), arms, rotation=20)
        ax.set_title(metric, fontsize=10)
        ax.grid(axis='y', alpha=0.3)
    written.append(_save(fig, out_dir, 'metrics.png',
                         f'{spec.name}: per seed (dots), mean and 95% CI (black), '
                         'synthetic data'))

    others = [a for a in arms if a != spec.baseline]
    if others:
        fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics) + 0.5, 3.6),
                                 squeeze=False)
        for ax, metric in zip(axes[0], metrics):
            for i, arm in enumerate(others):
                p = stats[metric]['paired'][arm]
                seeds = sorted(p.per_seed)
                ax.scatter([i] * len(seeds), [p.per_seed[s] for s in seeds], s=18,
                           color=colours[arm], alpha=0.7)
                for s in seeds:
                    ax.annotate(str(s), (i, p.per_seed[s]), xytext=(4, 0),
                                textcoords='offset points', fontsize=7)
                _mean_ci(ax, i + 0.3, p.diff)
            ax.axhline(0.0, color='grey', lw=1, ls='--')
            ax.set_xticks(range(len(others)), [f'{a}\n- {spec.baseline}' for a in others],
                          fontsize=8)
            ax.set_xlim(-0.6, len(others) - 0.2)
            ax.set_title(f'{metric} ({spec.metrics[metric]} better)', fontsize=9)
            ax.grid(axis='y', alpha=0.3)
        written.append(_save(fig, out_dir, 'paired_difference.png',
                             f'{spec.name}: paired difference per seed (labels), mean and '
                             '95% CI, synthetic data'))

    runs = sorted(results, key=lambda r: (arms.index(r['arm']), r['seed']))
    keys = [k for k in spec.curves if any(k in r.get('curves', {}) for r in runs)]
    if keys:
        fig, axes = plt.subplots(1, len(keys), figsize=(4.5 * len(keys), 3.4), squeeze=False)
        for ax, key in zip(axes[0], keys):
            seen = set()
            for r in runs:
                arm, c = r['arm'], r.get('curves', {})
                if key not in c:
                    continue
                its, vals = zip(*c[key])
                ax.plot(its, vals, color=colours.get(arm, 'grey'), alpha=0.6, lw=1,
                        label=None if arm in seen else arm)
                seen.add(arm)
            ax.set_title(key, fontsize=10)
            ax.set_xlabel('iteration')
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        written.append(_save(fig, out_dir, 'curves.png',
                             f'{spec.name}: training curves, one line per seed, synthetic data'))
    return written
