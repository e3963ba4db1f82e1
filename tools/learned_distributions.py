"""The augmentation distributions learned in an experiment's runs of
AdversarialAugmentationHook (Peng et al., Fig. 5), averaged over seeds: after
the agent's pre-training (the last ``pretrain`` line of each run's
``adversarial_augmentation.jsonl``) and at the end (the last line).

Example::

    python tools/learned_distributions.py work_dirs/experiments/adv_aug_vs_random \\
        --out docs/evidence/adv_aug_vs_random

Writes ``learned_distributions.md`` (a table per distribution) and
``learned_distributions.png`` (the end of training, a row per arm).
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import re
import sys

import numpy as np

from hrgan_plugin.models.augmentation.adversarial_augmenter import DISTRIBUTIONS
from hrgan_plugin.visualization import plot_learned_distributions

JSONL = 'adversarial_augmentation.jsonl'


def read_runs(experiment: str) -> dict[str, list[list[dict]]]:
    """Per arm, the jsonl lines of each seed's run (arms without any skipped)."""
    runs_dir = osp.join(experiment, 'runs')
    if not osp.isdir(runs_dir):
        raise FileNotFoundError(f'{runs_dir} not found: is {experiment} an experiment folder?')
    found = {}
    for arm in sorted(os.listdir(runs_dir)):
        seeds = sorted(d for d in os.listdir(osp.join(runs_dir, arm))
                       if re.fullmatch(r'seed\d+', d))
        logs = []
        for seed in seeds:
            path = osp.join(runs_dir, arm, seed, JSONL)
            if osp.isfile(path):
                with open(path) as f:
                    logs.append([json.loads(line) for line in f if line.strip()])
        if logs:
            found[arm] = logs
    return found


def summarise(logs: list[list[dict]]) -> dict[str, dict[str, np.ndarray]]:
    """Seed means of the distributions after pre-training and at the end."""
    out = {}
    for when, pick in (('after pre-training', lambda ls: [r for r in ls
                                                          if r['phase'] == 'pretrain'][-1:]),
                       ('end', lambda ls: ls[-1:])):
        lines = [line for ls in logs for line in pick(ls)]
        if lines:
            out[when] = {k: np.mean([r[k] for r in lines], 0) for k in DISTRIBUTIONS}
    return out


def markdown(summary: dict[str, dict], n_seeds: dict[str, int]) -> str:
    rows = ['# Learned augmentation distributions (synthetic data)', '',
            'Mean over seeds of each distribution (bins left to right: scale exponents '
            '-0.6..0.6, content scale 2^e, e > 0 zooms in; rotations -60..60 degrees; '
            'occlusion cells row-major over the grid). Uniform is 1/k.', '']
    for key in DISTRIBUTIONS:
        rows += [f'## {key}', '', '| arm | seeds | when | probabilities |', '|---|---|---|---|']
        for arm, by_when in summary.items():
            for when, dists in by_when.items():
                probs = ' '.join(f'{p:.3f}' for p in dists[key])
                rows.append(f'| {arm} | {n_seeds[arm]} | {when} | {probs} |')
        rows.append('')
    return '\n'.join(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('experiment', help='the experiment folder (holds runs/ARM/seedS/)')
    parser.add_argument('--out', help='output folder (default: the experiment folder)')
    parser.add_argument('--grid', type=int, nargs=2, default=(4, 4), help='occlusion grid w h')
    args = parser.parse_args(argv)
    try:
        runs = read_runs(args.experiment)
    except FileNotFoundError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    if not runs:
        print(f'error: no run under {args.experiment}/runs wrote {JSONL}', file=sys.stderr)
        return 1
    summary = {arm: summarise(logs) for arm, logs in runs.items()}
    out = args.out or args.experiment
    os.makedirs(out, exist_ok=True)
    with open(osp.join(out, 'learned_distributions.md'), 'w') as f:
        f.write(markdown(summary, {arm: len(logs) for arm, logs in runs.items()}))
    plot_learned_distributions({arm: s['end'] for arm, s in summary.items()}, args.grid,
                               osp.join(out, 'learned_distributions.png'))
    print(f'wrote {out}/learned_distributions.md and .png ({", ".join(runs)})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
