"""The augmentation distributions learned in an experiment's runs of
AdversarialAugmentationHook (Peng et al., Fig. 5), averaged over seeds, on
axes in their units, for the distributions each arm learns (its ``split``):
at the start of agent pre-training (the first line of each run's
``adversarial_augmentation.jsonl``), after it (the last ``pretrain`` line,
where joint training starts) and at the end (the last line).

Example::

    python tools/learned_distributions.py work_dirs/experiments/adv_aug_vs_random \\
        --out docs/evidence/adv_aug_vs_random
    # redraw a published table (no run folders), arms' splits from the spec
    python tools/learned_distributions.py docs/evidence/adv_aug_vs_random \\
        --table docs/evidence/adv_aug_vs_random/learned_distributions.md \\
        --spec configs/experiments/adv_aug_vs_random.py

Writes ``learned_distributions.md`` (a table per distribution) and
``learned_distributions.png``.
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import re
import sys

import numpy as np
from mmengine.config import Config

from hrgan_plugin.visualization import distributions_used, plot_learned_distributions

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
JSONL = 'adversarial_augmentation.jsonl'
HOOK = 'AdversarialAugmentationHook'
HOOK_DEFAULTS = dict(split=(1, 1, 1), scale_bins=dict(num=7, range=(-0.6, 0.6)),
                     rotation_bins=dict(num=9, range=(-60.0, 60.0)), occlusion_grid=(4, 4))
STATES = ('start of agent pre-training', 'after agent pre-training', 'end')


def hook_settings(cfg: Config) -> dict | None:
    """The augmentation hook's split, bins and grid in ``cfg`` (None without the hook)."""
    for hook in cfg.get('custom_hooks', []):
        if hook.get('type') == HOOK:
            return {k: hook.get(k, v) for k, v in HOOK_DEFAULTS.items()}
    return None


def read_runs(experiment: str) -> tuple[dict, dict]:
    """Per arm, the jsonl lines of each seed's run, and the arm's hook
    settings (arms without the hook are left out)."""
    runs_dir = osp.join(experiment, 'runs')
    if not osp.isdir(runs_dir):
        raise FileNotFoundError(f'{runs_dir} not found: is {experiment} an experiment folder?')
    found, settings = {}, {}
    for arm in sorted(os.listdir(runs_dir)):
        seeds = sorted(d for d in os.listdir(osp.join(runs_dir, arm))
                       if re.fullmatch(r'seed\d+', d))
        logs = []
        for seed in seeds:
            path = osp.join(runs_dir, arm, seed, JSONL)
            if osp.isfile(path):
                with open(path) as f:
                    logs.append([json.loads(line) for line in f if line.strip()])
                config = osp.join(runs_dir, arm, seed, 'config.py')
                if arm not in settings:
                    settings[arm] = (hook_settings(Config.fromfile(config))
                                     if osp.isfile(config) else dict(HOOK_DEFAULTS))
        if logs:
            found[arm] = logs
    return found, settings


def summarise(logs: list[list[dict]]) -> dict[str, dict[str, np.ndarray]]:
    """Seed means of the distributions in each of ``STATES``."""
    picks = (lambda ls: ls[:1],
             lambda ls: [r for r in ls if r['phase'] == 'pretrain'][-1:],
             lambda ls: ls[-1:])
    out = {}
    for when, pick in zip(STATES, picks):
        lines = [line for ls in logs for line in pick(ls)]
        if lines:
            out[when] = {k: np.mean([r[k] for r in lines], 0)
                         for k in ('scale', 'rotation', 'occlusion') if k in lines[0]}
    return out


def read_table(path: str) -> tuple[dict, dict]:
    """A published ``learned_distributions.md`` back as ``{arm: {state:
    {name: probabilities}}}`` and the seed count per arm."""
    summary, seeds, name = {}, {}, None
    with open(path) as f:
        for line in f:
            if line.startswith('## '):
                name = line[3:].split()[0]
            cells = [c.strip() for c in line.strip().strip('|').split('|')]
            if name and len(cells) == 4 and re.fullmatch(r'[\d.]+( [\d.]+)*', cells[3]):
                arm, n, when, probs = cells
                when = {'after pre-training': STATES[1]}.get(when, when)
                summary.setdefault(arm, {}).setdefault(when, {})[name] = np.array(
                    [float(p) for p in probs.split()])
                seeds[arm] = int(n)
    if not summary:
        raise ValueError(f'{path}: no distribution rows found')
    return summary, seeds


def spec_settings(spec_path: str) -> dict:
    """Per arm of an experiment spec, its merged config's hook settings."""
    from hrgan_plugin.experiments.spec import load_spec
    spec = load_spec(spec_path, REPO)
    out = {}
    for arm in spec.arms:
        cfg = Config.fromfile(osp.join(REPO, arm.config))
        cfg.merge_from_dict(spec.run_options(arm, spec.seeds[0]))
        out[arm.name] = hook_settings(cfg)
    return out


def markdown(summary: dict, n_seeds: dict, used: dict, centres: dict) -> str:
    rows = ['# Learned augmentation distributions (synthetic data)', '',
            'Mean over seeds of each distribution an arm learns. Bin centres: content '
            'scale factor ' + ' '.join(f'{c:.2f}' for c in centres['scale'])
            + ' (2^e, above 1 zooms in); rotation ' + ' '.join(f'{c:.0f}' for c in
                                                               centres['rotation'])
            + ' degrees; occlusion cells row-major over the grid. Uniform is 1/k.', '']
    missing = [w for w in STATES if not any(w in by_when for by_when in summary.values())]
    if missing:
        rows += ['Not recorded: ' + ', '.join(missing) + '.', '']
    for key in ('scale', 'rotation', 'occlusion'):
        rows += [f'## {key}', '', '| arm | seeds | when | probabilities |', '|---|---|---|---|']
        for arm, by_when in summary.items():
            if key not in used.get(arm, ()):
                continue
            for when, dists in by_when.items():
                probs = ' '.join(f'{p:.3f}' for p in dists[key])
                rows.append(f'| {arm} | {n_seeds[arm]} | {when} | {probs} |')
        rows.append('')
    return '\n'.join(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('experiment', help='the experiment folder (holds runs/ARM/seedS/)')
    parser.add_argument('--out', help='output folder (default: the experiment folder)')
    parser.add_argument('--table', help='redraw this published learned_distributions.md '
                        'instead of reading runs (needs --spec)')
    parser.add_argument('--spec', help="the experiment spec: the arms' hook settings")
    args = parser.parse_args(argv)
    try:
        if args.table:
            if not args.spec:
                parser.error('--table needs --spec (the arms\' hook settings)')
            summary, n_seeds = read_table(args.table)
            settings = spec_settings(args.spec)
        else:
            runs, settings = read_runs(args.experiment)
            if not runs:
                print(f'error: no run under {args.experiment}/runs wrote {JSONL}',
                      file=sys.stderr)
                return 1
            summary = {arm: summarise(logs) for arm, logs in runs.items()}
            n_seeds = {arm: len(logs) for arm, logs in runs.items()}
    except (FileNotFoundError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    settings = {a: s for a, s in settings.items() if s is not None and a in summary}
    first = next(iter(settings.values()))
    # BoundedGaussianBins' centres: evenly spaced over the range, ends included
    centres = {name: np.linspace(*first[f'{name}_bins']['range'], first[f'{name}_bins']['num'])
               for name in ('scale', 'rotation')}
    centres['scale'] = 2.0 ** centres['scale']
    used = {a: distributions_used(s['split']) for a, s in settings.items()}
    sizes = {**{k: len(v) for k, v in centres.items()},
             'occlusion': int(np.prod(first['occlusion_grid']))}
    for arm, by_when in summary.items():
        for dists in by_when.values():
            for name in used.get(arm, ()):
                if name in dists and len(dists[name]) != sizes[name]:
                    print(f"error: {arm}'s {name} has {len(dists[name])} probabilities for "
                          f'{sizes[name]} bins (hook settings of {args.spec or "its runs"})',
                          file=sys.stderr)
                    return 2
    out = args.out or args.experiment
    os.makedirs(out, exist_ok=True)
    summary = {a: summary[a] for a in settings}
    with open(osp.join(out, 'learned_distributions.md'), 'w') as f:
        f.write(markdown(summary, n_seeds, used, centres))
    plot_learned_distributions(summary, used, centres, first['occlusion_grid'],
                               osp.join(out, 'learned_distributions.png'))
    print(f'wrote {out}/learned_distributions.md and .png ({", ".join(summary)})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
