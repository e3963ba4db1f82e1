"""Retrain one published (arm, seed) of an experiment and compare its metrics
with the committed ones.

Example::

    python tools/reproduce.py configs/experiments/hrgan_vs_hrnet.py hrnet 0
    python tools/reproduce.py SPEC ARM SEED --from docs/evidence/SPEC --out DIR

The run is trained from scratch exactly as ``tools/experiment.py`` trains it
(``tools/train.py`` on the merged config; an arm of a spec with a
``pretrain`` starts from the published stage-1 weights,
``results/_pretrain/seedS.pth``, or, where only the stage-1 result is
published, from its stage 1 trained again and compared first), on the CPU
with the thread count recorded with the committed result (one for the
arms of a ``--jobs 2`` grid on 2 cores, where a stage 1 that ran alone had
both; ``--threads`` overrides it). Every final metric is then compared
with the committed result. CPU runs repeat bit for bit at the same thread
count on the same kind of CPU with the same packages; another may round
differently (each result records its ``cpu`` and ``packages``, and a
disagreement names what differs); each |difference| is also printed as a
share of the metric's standard deviation over the arm's published seeds.

Exit status: 0 when every metric agrees within ``--tol`` (default 0, i.e.
exactly), 1 when one does not, 2 when the run cannot be reproduced as asked
(unknown arm, nothing published, a spec changed since).
"""
from __future__ import annotations

import argparse
import glob
import json
import math
import os
import os.path as osp
import re
import shutil
import sys

from experiment import REPO, TOOLS, make_run
from mmengine.config import DictAction

from hrgan_plugin.experiments.local import execute
from hrgan_plugin.experiments.machine import code_changes, differences
from hrgan_plugin.experiments.runs import Run, ensure_data, fmt_s
from hrgan_plugin.experiments.spec import (
    PRETRAIN,
    ExperimentSpec,
    SpecError,
    is_pretrain,
    load_spec,
)
from hrgan_plugin.experiments.statistics import summarise

DEFAULT_THREADS = 1  # results written before the thread count was recorded come from --jobs 2


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('spec', help='experiment spec (configs/experiments/*.py)')
    parser.add_argument('arm', help=f'an arm of the spec (or its stage 1: {PRETRAIN}, or '
                                    f'{PRETRAIN}-ARM for an arm\'s own)')
    parser.add_argument('seed', type=int)
    parser.add_argument('--from', dest='published', metavar='DIR',
                        help='the published report (default docs/evidence/SPEC_NAME)')
    parser.add_argument('--out', help='output folder (default work_dirs/reproduce/SPEC_NAME)')
    parser.add_argument('--threads', type=int,
                        help='CPU threads of the run (default: as recorded with the committed '
                             'result; a stage 1 trained again first always takes its own)')
    parser.add_argument('--tol', type=float, default=0.0,
                        help='largest absolute difference accepted per metric (default 0)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='the --cfg-options the grid was run with (they are part of '
                             "each run's config, and so of its key)")
    return parser.parse_args(argv)


def compare(committed: dict, rerun: dict, tol: float) -> tuple[list, list]:
    """Table rows (metric, committed, rerun, |difference|) over every metric
    of either result, and the metrics that disagree by more than ``tol`` or
    are missing from one of them."""
    rows, bad = [], []
    for name in sorted(set(committed) | set(rerun)):
        a, b = committed.get(name, math.nan), rerun.get(name, math.nan)
        diff = abs(a - b)
        rows.append((name, a, b, diff))
        if not (diff <= tol or (math.isnan(a) and math.isnan(b) and name in committed
                                and name in rerun)):  # a missing metric disagrees
            bad.append(name)
    return rows, bad


def seed_spread(results_dir: str) -> dict:
    """Per metric, the standard deviation over the published seeds in
    ``results_dir`` (``seedS.json``; two seeds at least): the yardstick for
    a rerun on another machine, whose rounding moves a metric by a fraction
    of it."""
    values: dict = {}
    for path in glob.glob(osp.join(results_dir, 'seed*.json')):
        if re.fullmatch(r'seed\d+\.json', osp.basename(path)):
            with open(path) as f:
                for name, value in json.load(f)['metrics'].items():
                    values.setdefault(name, []).append(value)
    spread = {name: summarise(v).sd for name, v in values.items()
              if all(math.isfinite(x) for x in v)}
    return {name: sd for name, sd in spread.items() if sd is not None}


def main(argv=None) -> int:
    args = parse_args(argv)

    def fail(message: str) -> int:
        print(f'error: {message}', file=sys.stderr)
        return 2

    try:
        spec = load_spec(args.spec, REPO)
    except SpecError as err:
        return fail(str(err))
    published = args.published or osp.join(REPO, 'docs', 'evidence', spec.name)
    out = args.out or osp.join(REPO, 'work_dirs', 'reproduce', spec.name)
    arms = {a.name: a for a in spec.arms}
    arms.update({p.name: p for p in spec.pretrains})
    if args.arm not in arms:
        return fail(f'{args.spec}: no arm {args.arm!r}; the arms are {sorted(arms)}')
    committed_file = osp.join(published, 'results', args.arm, f'seed{args.seed}.json')
    if not osp.isfile(committed_file):
        return fail(f'{committed_file}: no published result for {args.arm} seed {args.seed}')
    pretrain, pretrain_committed, pretrain_file = None, None, None
    stage1 = None if is_pretrain(args.arm) else spec.pretrain_of(arms[args.arm])
    if stage1 is not None:
        pretrain = make_run(spec, stage1, spec.stage1_seed(args.seed), out, args.cfg_options)
        source = osp.join(published, 'results', stage1.name, osp.basename(pretrain.weights))
        if osp.isfile(source):
            os.makedirs(osp.dirname(pretrain.weights), exist_ok=True)
            shutil.copy2(source, pretrain.weights)
            if not pretrain.has_weights():
                return fail(f'{source}: not readable as stage-1 weights, or of another config '
                            f'than the spec\'s pretrain (key {pretrain.key}): the pretrain '
                            'changed since, or the grid ran with other --cfg-options')
        else:  # train the stage 1 again too, from its published result
            pretrain_file = osp.splitext(source)[0] + '.json'
            if not osp.isfile(pretrain_file):
                return fail(f'{source}: the stage-1 weights this arm starts from are not '
                            f'published, nor is the stage-1 result ({pretrain_file}) to train '
                            'them again')
            pretrain_committed = load_committed(pretrain_file, pretrain.key)
            if isinstance(pretrain_committed, str):
                return fail(pretrain_committed)
    run = make_run(spec, arms[args.arm], args.seed, out, args.cfg_options, pretrain)
    committed = load_committed(committed_file, run.key)
    if isinstance(committed, str):
        return fail(committed)
    try:
        ensure_data(spec, REPO)
    except SpecError as err:
        return fail(str(err))
    if pretrain_committed is not None:
        print(f'the stage-1 weights are not published: {pretrain.label} first')
        threads = pretrain_committed.get('threads') or DEFAULT_THREADS
        code = retrain(spec, pretrain, pretrain_committed, pretrain_file, args.tol, threads)
        if code:
            print(f'{run.label}: not trained, its stage 1 did not reproduce', file=sys.stderr)
            return code
    threads = args.threads or committed.get('threads') or DEFAULT_THREADS
    return retrain(spec, run, committed, committed_file, args.tol, threads)


def load_committed(path: str, key: str) -> dict | str:
    """The committed result in ``path``, or why it is not the result of the
    config the spec gives now (key ``key``)."""
    with open(path) as f:
        committed = json.load(f)
    if committed.get('key') != key:
        return (f'{path}: published for another config (key {committed.get("key")}, the spec '
                f'now gives {key}): the spec or its configs changed since, or the grid ran '
                'with other --cfg-options')
    return committed


def retrain(spec: ExperimentSpec, run: Run, committed: dict, path: str, tol: float,
            threads: int) -> int:
    """Train ``run`` again on ``threads`` CPU threads (a stage 1 already
    trained again into the same folder, with its weights, is taken as it
    is) and compare every final metric with ``committed`` (read from
    ``path``): 0 when all agree within ``tol``, else 1."""
    result = run.result() if is_pretrain(run.arm.name) and run.has_weights() else None
    if result is not None:
        print(f'{run.label}: trained again before, in {run.dir}', flush=True)
    else:
        env = dict(os.environ, CUDA_VISIBLE_DEVICES='', OMP_NUM_THREADS=str(threads))
        print(f'{run.label}: training again with {threads} thread(s) into {run.dir}',
              flush=True)
        result = execute(run, env, spec.curves, spec.mechanism_samples, TOOLS)
    rows, bad = compare(committed['metrics'], result['metrics'], tol)
    spread = seed_spread(osp.dirname(path))
    print(f'{"metric":<34} {"committed":>14} {"rerun":>14} {"|difference|":>13} '
          f'{"/ seed SD":>10}')
    for name, a, b, diff in rows:
        sd = spread.get(name)
        ratio = f'{diff / sd:>10.2f}' if sd else f'{"-":>10}'
        print(f'{name:<34} {a:>14.8g} {b:>14.8g} {diff:>13.3g} {ratio}')
    if spread:
        print(f'(seed SD: the standard deviation over the published seeds of {run.arm.name}, '
              'the yardstick for a rerun on another machine)')
    print(f'iterations {committed.get("iters")} -> {result["iters"]}; wall '
          f'{fmt_s(committed.get("wall_s", 0))} -> {fmt_s(result["wall_s"])}')
    if bad or committed.get('iters') != result['iters']:
        changed, code = differences(committed, result), code_changes(committed, result, REPO)
        print(f'{run.label}: NOT REPRODUCED: {", ".join(bad) or "iterations"} differ by more '
              f'than {tol:g}' + (f'; computed on another machine ({"; ".join(changed)}), '
                                 'which may round differently' if changed else '')
              + (f'; trained on other code ({code})' if code else ''), file=sys.stderr)
        return 1
    print(f'{run.label}: reproduced: all {len(rows)} metrics within {tol:g} of {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
