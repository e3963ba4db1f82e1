"""The augmentation distributions learned in an experiment's runs of
AdversarialAugmentationHook (Peng et al., Fig. 5), averaged over seeds, on
axes in their units, for the distributions each arm learns (its ``split``):
at the start of agent pre-training (the first line of each run's
``adversarial_augmentation.jsonl``), after it (the last ``pretrain`` line,
where joint training starts) and at the end (the last line).

Example::

    python tools/learned_distributions.py work_dirs/experiments/adv_aug_vs_random \\
        --out docs/evidence/adv_aug_vs_random
    # a published report: the logs kept with its results, arms' splits from the spec
    python tools/learned_distributions.py docs/evidence/adv_aug_vs_random \\
        --spec configs/experiments/adv_aug_vs_random.py
    # redraw a published table (no logs), arms' splits from the spec
    python tools/learned_distributions.py docs/evidence/adv_aug_vs_random \\
        --table docs/evidence/adv_aug_vs_random/learned_distributions.md \\
        --spec configs/experiments/adv_aug_vs_random.py

Writes ``learned_distributions.md`` (a table per distribution) and
``learned_distributions.png``.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import os.path as osp
import re
import sys

import numpy as np
from mmengine.config import Config

from hrgan_plugin.experiments.results import AUGMENTATION_LOG as JSONL
from hrgan_plugin.visualization import distributions_used, plot_learned_distributions

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
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
    """Per arm, the jsonl lines of each seed's run, from its run folder
    (``runs/ARM/seedS/``) or, where that is gone, from the copy kept with its
    result (``results/ARM/seedS.adversarial_augmentation.jsonl``, also in a
    published report); and the arm's hook settings from the run's
    ``config.py`` (absent where no run folder holds one: the spec gives
    them)."""
    runs_dir, results_dir = osp.join(experiment, 'runs'), osp.join(experiment, 'results')
    if not (osp.isdir(runs_dir) or osp.isdir(results_dir)):
        raise FileNotFoundError(f'neither {runs_dir} nor {results_dir} found: is {experiment} '
                                'an experiment folder or a published report?')
    logs: dict = {}
    for path in sorted(glob.glob(osp.join(results_dir, '*', f'seed*.{JSONL}'))
                       + sorted(glob.glob(osp.join(runs_dir, '*', 'seed*', JSONL)))):
        parts = osp.relpath(path, experiment).split(os.sep)
        seed = re.match(r'seed(\d+)(\.|$)', parts[2])
        if seed is None:  # not a seed's log (seedS/ or seedS.NAME)
            continue
        with open(path) as f:  # a run folder's log replaces the kept copy of its seed
            logs.setdefault(parts[1], {})[int(seed.group(1))] = [
                json.loads(line) for line in f if line.strip()]
    settings = {}
    for arm in logs:
        configs = sorted(glob.glob(osp.join(runs_dir, arm, 'seed*', 'config.py')))
        if configs:
            settings[arm] = hook_settings(Config.fromfile(configs[0]))
    found = {arm: [by_seed[s] for s in sorted(by_seed)] for arm, by_seed in logs.items()}
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
                print(f'error: no run under {args.experiment}/runs wrote {JSONL}, and '
                      f'{args.experiment}/results keeps none', file=sys.stderr)
                return 1
            unknown = sorted(set(runs) - set(settings))
            if unknown and not args.spec:
                parser.error(f'no run folder of {", ".join(unknown)} holds its config.py: '
                             "give --spec (the arms' hook settings)")
            if unknown:
                settings.update({a: s for a, s in spec_settings(args.spec).items()
                                 if a in unknown})
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
