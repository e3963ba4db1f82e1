"""The baseline's whole validation curve: a spec's shared stage 1 (its
``pretrain`` runs) followed by the baseline arm, on one iteration axis, so a
reader sees how far training had gone before the arms split and whether the
baseline was still improving when they ended."""
from __future__ import annotations

import numpy as np

from .results import curve_by_seed
from .spec import ExperimentSpec


def baseline_stage1(spec: ExperimentSpec, pretrain: list) -> list:
    """The runs of ``pretrain`` (finished stage-1 runs, of any arm) that
    the baseline arm starts from: the shared stage 1's, or its own."""
    base = spec.pretrain_of(next(a for a in spec.arms if a.name == spec.baseline))
    return [r for r in pretrain if base is not None and r['arm'] == base.name]


def stage_summary(spec: ExperimentSpec, pretrain: list) -> str | None:
    """One line: the primary metric at the end of the baseline's stage 1
    (from ``pretrain``, the spec's finished stage-1 runs; mean and range
    over seeds, or the one run's, said to be shared only when the spec
    shares it); None without finished runs."""
    pretrain = baseline_stage1(spec, pretrain)
    ends = [r['metrics'][spec.primary] for r in pretrain if spec.primary in r['metrics']]
    if not ends:
        return None
    iters = sorted({r['iters'] for r in pretrain})
    if len(ends) > 1:
        over = f'mean of {len(ends)} seeds, range {min(ends):.4g} to {max(ends):.4g}'
    else:
        over = f'seed {pretrain[0]["seed"]}' + (
            ', shared by every seed' if spec.pretrain_seed is not None else ', one seed so far')
    name, whose = ('`pretrain`', 'the arms start') if spec.pretrain_per_arm is None else (
        f'`{pretrain[0]["arm"]}`', f'`{spec.baseline}` starts')
    return (f'- stage 1 ({name}, {", ".join(map(str, iters))} iterations) ended at '
            f'{spec.primary} {np.mean(ends):.4g} ({over}); {whose} there')


def draw_baseline_curve(spec: ExperimentSpec, results: list, pretrain: list):
    """The primary metric of every seed of the baseline against iteration,
    stage 1 first when the spec has one (the baseline's runs of
    ``pretrain``, the spec's finished stage-1 runs, in grey; the arm's
    iterations counted on from stage 1's end); None without curves."""
    pretrain = baseline_stage1(spec, pretrain)
    metric = spec.primary
    arm = curve_by_seed(results, spec.baseline, metric)
    stage1 = {r['seed']: {it: v[metric] for it, v in r.get('val_curves', []) if metric in v}
              for r in pretrain}
    offset = {r['seed']: r['iters'] for r in pretrain}
    if not arm or (spec.pretrains and not any(stage1.values())):
        return None
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(2 * 3.4 + 0.8, 3.4), layout='constrained')
    colour = plt.get_cmap('tab10')(0)
    for i, first in enumerate(c for c in stage1.values() if c):
        its = sorted(first)
        ax.plot(its, [first[it] for it in its], color='grey', lw=1, alpha=0.8,
                label=None if i else 'stage 1 (pretrain)')
        ax.axvline(its[-1], color='grey', lw=0.8, ls='--')
    for i, seed in enumerate(sorted(arm)):
        start = offset.get(spec.stage1_seed(seed), 0)
        its = sorted(arm[seed])
        ax.plot([start + it for it in its], [arm[seed][it] for it in its], color=colour, lw=1.2,
                alpha=0.9, label=None if i else spec.baseline)
    ax.set_xlabel('iteration', fontsize=8)
    ax.set_ylabel(metric, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc='lower right')
    stages = 'stage 1, then the baseline arm; ' if spec.pretrains else ''
    fig.suptitle(f'{spec.name}: baseline `{spec.baseline}`, {metric} (validation)\n'
                 f'{stages}one line per seed; synthetic data', fontsize=9)
    return fig
