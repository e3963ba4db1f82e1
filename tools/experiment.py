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
from dataclasses import dataclass

from mmengine.config import Config, DictAction

from hrgan_plugin.experiments.report import plot_all, write_report, write_runs_csv
from hrgan_plugin.experiments.spec import Arm, ExperimentSpec, SpecError, load_spec

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TRAIN = osp.join(REPO, 'tools', 'train.py')
NOT_METRICS = {'data_time', 'time', 'step', 'iter', 'epoch', 'lr', 'memory'}
REPORT_FILES = ('report.md', 'runs.csv', 'metrics.png', 'paired_difference.png', 'curves.png')


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


@dataclass
class Run:
    arm: Arm
    seed: int
    dir: str
    cfg: Config
    key: str

    @property
    def label(self) -> str:
        return f'{self.arm.name} seed {self.seed}'

    @property
    def result_file(self) -> str:
        return osp.join(self.dir, 'result.json')

    def finished(self) -> bool:
        """A result exists for exactly this run's config."""
        try:
            with open(self.result_file) as f:
                return json.load(f).get('key') == self.key
        except (OSError, ValueError):
            return False


class RunFailed(RuntimeError):
    pass


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
    text = cfg.pretty_text
    if pretrain is not None:
        cfg.load_from = osp.join(pretrain.dir, f'epoch_{pretrain.cfg.train_cfg.max_epochs}.pth')
        text = cfg.pretty_text + pretrain.key
    run_dir = osp.join(out, 'runs', arm.name, f'seed{seed}')
    cfg.work_dir = run_dir
    return Run(arm, seed, run_dir, cfg, hashlib.sha256(text.encode()).hexdigest()[:16])


def ensure_data(spec: ExperimentSpec) -> None:
    """Write the spec's synthetic dataset unless it is there already with
    the same settings. A folder the runner did not write is never replaced."""
    if not spec.data:
        return
    from hrgan_plugin.datasets import write_synthetic_dataset
    settings = dict(spec.data)
    root = osp.join(REPO, settings.pop('root'))
    marker = osp.join(root, '.settings.json')
    if osp.isfile(marker):
        with open(marker) as f:
            if json.load(f) == settings:
                return
    elif osp.isdir(root) and os.listdir(root):
        raise SpecError(f'{spec.path}: data.root {root} holds files the experiment runner did '
                        'not write; remove it or choose another root')
    print(f'writing the synthetic dataset {root} ({settings})', flush=True)
    shutil.rmtree(root, ignore_errors=True)
    counts = write_synthetic_dataset(root, **settings)
    for split, c in counts.items():
        print(f'  {split}: {c["coco_instances"]} persons, {c["hidden"]} of {c["keypoints"]} '
              f'labelled keypoints hidden', flush=True)
    with open(marker, 'w') as f:
        json.dump(settings, f)


def read_scalars(work_dir: str) -> list:
    """The json log records (``vis_data/scalars.json``) of a run."""
    [stamp] = [d for d in os.listdir(work_dir) if osp.isdir(osp.join(work_dir, d, 'vis_data'))]
    with open(osp.join(work_dir, stamp, 'vis_data', 'scalars.json')) as f:
        return [json.loads(line) for line in f if line.strip()]


def summarise_run(records: list, curve_keys: list) -> dict:
    """Final validation metrics, iterations and training curves of a run."""
    train = [r for r in records if 'iter' in r]
    val = [r for r in records if 'iter' not in r and set(r) - NOT_METRICS]
    if not val:
        raise RunFailed('the run logged no validation metrics (is val_interval past '
                        'max_epochs?)')
    metrics = {k: v for k, v in val[-1].items() if k not in NOT_METRICS}
    curves = {k: [(r['iter'], r[k]) for r in train if k in r] for k in curve_keys}
    return dict(metrics=metrics, iters=max((r['iter'] for r in train), default=0),
                curves={k: v for k, v in curves.items() if v})


def clear(run: Run) -> None:
    """Make room for a fresh run: a finished run of another config is kept
    beside it as ``seedS.KEY``; a half-written one is removed."""
    try:
        with open(run.result_file) as f:
            old_key = json.load(f)['key']
    except (OSError, ValueError, KeyError):
        shutil.rmtree(run.dir, ignore_errors=True)
        return
    kept = f'{run.dir}.{old_key}'
    shutil.rmtree(kept, ignore_errors=True)
    os.replace(run.dir, kept)
    print(f'{run.label}: the config changed; the earlier run is kept in {kept}', flush=True)


def execute(run: Run, env: dict, curve_keys: list) -> dict:
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
    tmp = run.result_file + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(result, f)
    os.replace(tmp, run.result_file)
    return result


def train_all(spec: ExperimentSpec, pending: list, jobs: int, device: str) -> list:
    """Train the pending runs, ``jobs`` at a time, printing progress and an
    ETA; returns the failures' messages."""
    failures = []
    head = next(iter(spec.metrics))  # the metric shown in the progress lines
    start = time.perf_counter()
    done = 0
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(execute, run, run_env(device, jobs, i),
                               spec.curves): run for i, run in enumerate(pending)}
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
            ensure_data(spec)
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
    if not results:
        print('error: no finished runs to report', file=sys.stderr)
        return 1
    write_runs_csv(osp.join(out, 'runs.csv'), spec, results)
    plots = plot_all(out, spec, results)
    report = write_report(out, spec, results, environment(args.device), plots)
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
