"""Run paired multi-seed experiments and report what separates signal from noise.

Every arm (a config plus options) is trained once per seed through
``tools/train.py`` (mmpose's runner); seed ``s`` gives every arm the same
initialisation of the shared parts and the same data order. The report gives
per-arm mean +- 95% CI over seeds and each arm's paired difference to the
baseline. Finished runs are kept: rerunning the command only runs what is
missing (an interrupted run restarts from scratch).

Example::

    python tools/experiment.py configs/experiments/hrgan_vs_hrnet.py --seeds 0 1 2 3 4
    python tools/experiment.py SPEC --report-only     # rewrite the report from finished runs

Writes into ``--out`` (default ``work_dirs/experiments/SPEC_NAME``): ``runs.csv``,
``report.md``, ``metrics.png``, ``paired_difference.png``, ``curves.png`` and
``runs/ARM/seedS/`` (each run's config, log, checkpoints and ``result.json``).
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

from mmengine.config import Config, DictAction

from hrgan_plugin.experiments.figures import plot_all
from hrgan_plugin.experiments.report import kept_section, write_report
from hrgan_plugin.experiments.results import (
    RunFailed,
    read_curves_csv,
    read_runs_csv,
    read_scalars,
    summarise_run,
    write_curves_csv,
    write_runs_csv,
)
from hrgan_plugin.experiments.runs import Run, clear, ensure_data, set_val_points
from hrgan_plugin.experiments.spec import Arm, ExperimentSpec, SpecError, load_spec

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TRAIN = osp.join(REPO, 'tools', 'train.py')
MECHANISM_CHECK = osp.join(REPO, 'tools', 'mechanism_check.py')
REPORT_FILES = ('report.md', 'runs.csv', 'curves.csv', 'metrics.png', 'paired_difference.png',
                'learning_curves.png', 'curves.png')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('spec', help='experiment spec (configs/experiments/*.py)')
    parser.add_argument('--seeds', type=int, nargs='+', help="override the spec's seeds")
    parser.add_argument('--arms', nargs='+',
                        help='train and report these arms only (the baseline is always kept)')
    parser.add_argument('--out', help='output folder (default work_dirs/experiments/NAME)')
    parser.add_argument('--jobs', type=int, default=1, help='runs side by side')
    parser.add_argument('--device', choices=('cpu', 'cuda'),
                        help='where runs train (default: cuda when a GPU is visible)')
    parser.add_argument('--report-only', action='store_true',
                        help='write the report from finished runs; train nothing')
    parser.add_argument('--publish', action='store_true',
                        help='copy the report and plots to docs/evidence/NAME/')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='settings applied to every run (as in tools/train.py)')
    return parser.parse_args(argv)


def plan(spec: ExperimentSpec, out: str, extra: dict) -> tuple[list, list]:
    """The spec's pretrain runs (one per seed, if any) and every (arm, seed)
    run, each with its merged config and identity key (a hash of the config
    text, and of its pretrain's key, so a changed spec reruns what it
    changed). Arms start from their seed's pretrain checkpoint."""
    pretrains, runs = {}, []
    for seed in spec.seeds:
        if spec.pretrain is not None:
            pretrains[seed] = _run(spec, spec.pretrain, seed, out, extra)
        for arm in spec.arms:
            runs.append(_run(spec, arm, seed, out, extra, pretrains.get(seed)))
    return list(pretrains.values()), runs


def _run(spec: ExperimentSpec, arm: Arm, seed: int, out: str, extra: dict,
         pretrain: Run | None = None) -> Run:
    cfg = Config.fromfile(osp.join(REPO, arm.config))
    cfg.merge_from_dict(spec.run_options(arm, seed, extra))
    if spec.val_points:
        set_val_points(cfg, spec.val_points)
    text = cfg.pretty_text
    if pretrain is not None:
        cfg.load_from = osp.join(pretrain.dir, f'epoch_{pretrain.cfg.train_cfg.max_epochs}.pth')
        text = cfg.pretty_text + pretrain.key
    run_dir = osp.join(out, 'runs', arm.name, f'seed{seed}')
    cfg.work_dir = run_dir
    return Run(arm, seed, run_dir, cfg, hashlib.sha256(text.encode()).hexdigest()[:16])


def execute(run: Run, env: dict, curve_keys: list, mechanism_samples: int | None) -> dict:
    """Train one run from scratch in its own folder; returns its result."""
    clear(run)
    os.makedirs(run.dir)
    cfg_file = osp.join(run.dir, 'config.py')
    run.cfg.dump(cfg_file)
    log = osp.join(run.dir, 'train.log')
    start = time.perf_counter()
    with open(log, 'w') as f:
        proc = subprocess.run([sys.executable, TRAIN, cfg_file, '--work-dir', run.dir],
                              cwd=REPO, env=env, stdout=f, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - start
    if proc.returncode:
        raise RunFailed(f'{run.label} failed (exit {proc.returncode}); see {log}')
    result = dict(arm=run.arm.name, seed=run.seed, key=run.key, wall_s=wall,
                  **summarise_run(read_scalars(run.dir), curve_keys))
    result['metrics'].update(mechanism_checks(run, env, mechanism_samples))
    tmp = run.result_file + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(result, f)
    os.replace(tmp, run.result_file)
    return result


def mechanism_checks(run: Run, env: dict, max_samples: int | None) -> dict:
    """``tools/mechanism_check.py`` on the run's last checkpoint: the checks
    that apply to its model, as ``mech/...`` metrics (none, and no process
    started, for a model without a discriminator or an augmentation hook)."""
    hooks = [h.get('type') for h in run.cfg.get('custom_hooks', [])]
    if 'discriminator' not in run.cfg.model and 'AdversarialAugmentationHook' not in hooks:
        return {}
    with open(osp.join(run.dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    out = osp.join(run.dir, 'mechanisms.json')
    with open(osp.join(run.dir, 'mechanism_check.log'), 'w') as log:
        proc = subprocess.run([sys.executable, MECHANISM_CHECK, osp.join(run.dir, 'config.py'),
                               checkpoint, '--out', out, *(['--max-samples', str(max_samples)]
                                                            if max_samples else [])],
                              cwd=REPO, env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    if proc.returncode:
        raise RunFailed(f'{run.label}: mechanism check failed (exit {proc.returncode}); see '
                        f'{log.name}')
    with open(out) as f:
        return json.load(f)


def train_all(spec: ExperimentSpec, pending: list, jobs: int, device: str) -> list:
    """Train the pending runs, ``jobs`` at a time, printing progress and an
    ETA; returns the failures' messages."""
    failures = []
    head = next(iter(spec.metrics))  # the metric shown in the progress lines
    start = time.perf_counter()
    done = 0
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(execute, run, run_env(device, jobs, i),
                               spec.curves, spec.mechanism_samples): run
                   for i, run in enumerate(pending)}
        for future in as_completed(futures):
            run = futures[future]
            done += 1
            elapsed = time.perf_counter() - start
            eta = elapsed / done * (len(pending) - done)
            try:
                res = future.result()
            except RunFailed as err:
                failures.append(str(err))
                print(f'[{done}/{len(pending)}] {err}', flush=True)
                continue
            missing = [m for m in spec.metrics if m not in res['metrics']]
            if missing:
                print(f'warning: {run.label} logged no {missing}; the spec\'s metrics must be '
                      f'among {sorted(res["metrics"])}', flush=True)
            print(f'[{done}/{len(pending)}] {run.label}: {head} = '
                  f'{res["metrics"].get(head, float("nan")):.4f}, {res["iters"]} iters in '
                  f'{_fmt_s(res["wall_s"])}; ETA {_fmt_s(eta)}', flush=True)
    return failures


def run_env(device: str, jobs: int, slot: int) -> dict:
    env = dict(os.environ)
    if device == 'cpu':
        env['CUDA_VISIBLE_DEVICES'] = ''
        if jobs > 1:
            env['OMP_NUM_THREADS'] = str(max(1, (os.cpu_count() or 1) // jobs))
    else:
        import torch
        if not torch.cuda.is_available():
            raise SystemExit('error: --device cuda but no CUDA device is visible')
        env['CUDA_VISIBLE_DEVICES'] = str(slot % torch.cuda.device_count())
    return env


def environment(device: str) -> dict:
    import torch
    if device == 'cuda':
        where = torch.cuda.get_device_name(0)
    else:
        where = f'CPU, {os.cpu_count()} cores'
    return {'machine': f'{where}; torch {torch.__version__}',
            'written': datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}


def _fmt_s(seconds: float) -> str:
    return str(datetime.timedelta(seconds=int(seconds)))


def published_results(out: str, spec: ExperimentSpec) -> list:
    """The results kept in ``out/runs.csv`` (and ``out/curves.csv`` when it
    exists) for the spec's arms and seeds: a published report regenerated
    without its run folders."""
    arms = {a.name for a in spec.arms}
    results = [r for r in read_runs_csv(osp.join(out, 'runs.csv'))
               if r['arm'] in arms and r['seed'] in spec.seeds]
    if osp.isfile(osp.join(out, 'curves.csv')):
        read_curves_csv(osp.join(out, 'curves.csv'), results)
    return results


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


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        spec = load_spec(args.spec, repo_root=REPO)
    except SpecError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    if args.seeds:
        spec.seeds = list(args.seeds)
    if args.arms:
        unknown = sorted(set(args.arms) - {a.name for a in spec.arms})
        if unknown:
            print(f'error: --arms {unknown} not in {args.spec} (arms: '
                  f'{[a.name for a in spec.arms]})', file=sys.stderr)
            return 2
        spec.arms = [a for a in spec.arms if a.name in args.arms or a.name == spec.baseline]
    if args.device is None:
        import torch
        args.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    out = args.out or osp.join(REPO, 'work_dirs', 'experiments', spec.name)
    os.makedirs(out, exist_ok=True)
    pretrains, runs = plan(spec, out, dict(args.cfg_options))
    pending = [r for r in runs if not r.finished()]
    print(f'{spec.name}: {len(spec.arms)} arms x {len(spec.seeds)} seeds = {len(runs)} runs; '
          f'{len(runs) - len(pending)} finished, {len(pending)} to run', flush=True)
    # a pretrain is (re)trained when an arm of its seed still has to run
    pending_pretrains = [p for p in pretrains if not p.finished()
                         and any(r.seed == p.seed for r in pending)]
    if pending_pretrains:
        print(f'{len(pending_pretrains)} pretrain run(s) ({spec.pretrain.config}) first',
              flush=True)

    failures = []
    if pending and not args.report_only:
        try:
            ensure_data(spec, REPO)
        except SpecError as err:
            print(f'error: {err}', file=sys.stderr)
            return 2
        try:
            failures = train_all(spec, pending_pretrains, args.jobs, args.device)
            failed = {p.seed for p in pending_pretrains if not p.finished()}
            pending = [r for r in pending if r.seed not in failed]
            failures += train_all(spec, pending, args.jobs, args.device)
        except KeyboardInterrupt:
            print('interrupted: finished runs are kept; run the same command to resume',
                  file=sys.stderr)
            return 130

    results = []
    for run in runs:
        if run.finished():
            with open(run.result_file) as f:
                results.append(json.load(f))
    kept, published = [], not results and args.report_only and osp.isfile(
        osp.join(out, 'runs.csv'))
    if published:
        results = published_results(out, spec)
        kept = kept_section(osp.join(out, 'report.md'), 'Training scalars')
        print(f'no run folders in {out}: reporting its runs.csv ({len(results)} runs)')
    elif results:
        write_runs_csv(osp.join(out, 'runs.csv'), list(spec.metrics), results)
        write_curves_csv(osp.join(out, 'curves.csv'), results)
    if not results:
        print('error: no finished runs to report', file=sys.stderr)
        return 1
    env_lines = environment(args.device)
    if published:
        env_lines = published_environment(osp.join(out, 'report.md'), env_lines)
    plots = plot_all(out, spec, results)
    if kept and 'curves.png' not in plots and osp.isfile(osp.join(out, 'curves.png')):
        plots.append('curves.png')  # drawn by the runs that logged the kept scalars
    report = write_report(out, spec, results, env_lines, plots, kept)
    print(f'report: {report}')
    if args.publish:
        dest = osp.join(REPO, 'docs', 'evidence', spec.name)
        os.makedirs(dest, exist_ok=True)
        for name in REPORT_FILES:
            if osp.isfile(osp.join(out, name)):
                shutil.copy2(osp.join(out, name), dest)
        print(f'published to {dest}')
    if failures:
        print(f'error: {len(failures)} run(s) failed: ' + '; '.join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
