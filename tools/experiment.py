"""Run paired multi-seed experiments and report what separates signal from noise.

Every arm (a config plus options) is trained once per seed through
``tools/train.py`` (mmpose's runner); seed ``s`` gives every arm the same
initialisation of the shared parts and the same data order. The report gives
per-arm mean +- 95% CI over seeds and each arm's paired difference to the
baseline. Finished runs are kept: rerunning the command only runs what is
missing, and a run interrupted mid-training continues from its last
checkpoint. One program trains into a folder at a time: a second one given
the same ``--out`` refuses (``OUT/.runner.lock``) rather than train the same
runs beside the first.

Example::

    python tools/experiment.py configs/experiments/hrgan_vs_hrnet.py --seeds 0 1 2 3 4
    python tools/experiment.py SPEC --report-only     # rewrite the report from finished runs
    python tools/experiment.py SPEC --launcher slurm --partition P --gpus-per-run 1

With ``--launcher slurm`` the pending runs are submitted as SLURM job arrays
(``hrgan_plugin/experiments/slurm.py``) and the runner waits for them; the
job ids are kept in ``OUT/slurm/submitted.json``, so an interrupted runner
leaves them running and the same command picks them up.

Writes into ``--out`` (default ``work_dirs/experiments/SPEC_NAME``): ``runs.csv``,
``curves.csv``, ``report.md``, ``metrics.png``, ``paired_difference.png``,
``learning_curves.png``, ``curves.png``, ``baseline_curve.png`` (stage 1, then the
baseline arm), ``runs/ARM/seedS/`` (config, log, checkpoints, ``result.json``) and
``results/ARM/seedS.json`` (the results archive, with a stage 1's weights in
``results/_pretrain/seedS.pth``, which ``--resume-from`` reads).
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import os
import os.path as osp
import shlex
import shutil
import sys

from mmengine.config import Config, DictAction

from hrgan_plugin.experiments.figures import plot_all
from hrgan_plugin.experiments.local import train_local
from hrgan_plugin.experiments.lock import OutFolderBusy, out_lock
from hrgan_plugin.experiments.machine import cpu_model
from hrgan_plugin.experiments.report import kept_section, published_environment, write_report
from hrgan_plugin.experiments.results import (
    published_results,
    write_curves_csv,
    write_runs_csv,
)
from hrgan_plugin.experiments.runs import (
    Run,
    adopt_archived,
    clear,  # noqa: F401  (re-exported: experiment.clear)
    ensure_data,
    set_val_points,
)
from hrgan_plugin.experiments.slurm import SlurmError, SlurmOptions, run_on_slurm
from hrgan_plugin.experiments.spec import Arm, ExperimentSpec, SpecError, load_spec

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TOOLS = osp.join(REPO, 'tools')  # train.py and mechanism_check.py
REPORT_FILES = ('report.md', 'runs.csv', 'curves.csv', 'metrics.png', 'paired_difference.png',
                'learning_curves.png', 'curves.png', 'baseline_curve.png')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('spec', help='experiment spec (configs/experiments/*.py)')
    parser.add_argument('--seeds', type=int, nargs='+', help="override the spec's seeds")
    parser.add_argument('--arms', nargs='+',
                        help='train and report these arms only (the baseline is always kept)')
    parser.add_argument('--out', help='output folder (default work_dirs/experiments/NAME)')
    parser.add_argument('--jobs', type=int,
                        help='runs side by side (default 1; on SLURM: all the array allows)')
    parser.add_argument('--device', choices=('cpu', 'cuda'),
                        help='where runs train (default: cuda when a GPU is visible)')
    parser.add_argument('--report-only', action='store_true',
                        help='write the report from finished runs; train nothing')
    parser.add_argument('--publish', action='store_true',
                        help='copy the report and plots to docs/evidence/NAME/')
    parser.add_argument('--resume-from', metavar='DIR',
                        help='take finished runs from DIR/results/ (a published report, e.g. '
                             'docs/evidence/NAME), training only what is missing there')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='settings applied to every run (as in tools/train.py)')
    slurm = parser.add_argument_group('SLURM (--launcher slurm)')
    slurm.add_argument('--launcher', choices=('local', 'slurm'), default='local',
                       help='train here (default) or as SLURM job arrays')
    slurm.add_argument('--partition', help='SLURM partition (default: the cluster default)')
    slurm.add_argument('--gpus-per-run', type=int,
                       help='GPUs per run (default 1; 0 with --device cpu); more than 1 '
                            'trains a run on that many processes (torchrun)')
    slurm.add_argument('--srun-args', default='',
                       help="further sbatch options for every run, one string, e.g. "
                            "'--time=2:00:00 --cpus-per-task=8'")
    slurm.add_argument('--poll', type=float, default=10.0,
                       help='seconds between checks of the jobs (default 10)')
    return parser.parse_args(argv)


def plan(spec: ExperimentSpec, out: str, extra: dict) -> tuple[list, list]:
    """The spec's pretrain runs (per seed or one shared; of one network or
    each arm's own) and every (arm, seed) run, each with its merged config
    and identity key (a hash of the config text, and of its pretrain's key,
    so a changed spec reruns what it changed). Arms start from their
    pretrain's archived weights."""
    pretrains = {(p.name, s): make_run(spec, p, s, out, extra)
                 for p in spec.pretrains for s in spec.pretrain_seeds}
    runs = []
    for seed in spec.seeds:
        for arm in spec.arms:
            stage1 = spec.pretrain_of(arm)
            runs.append(make_run(spec, arm, seed, out, extra, stage1 and pretrains[
                stage1.name, spec.stage1_seed(seed)]))
    return list(pretrains.values()), runs


def make_run(spec: ExperimentSpec, arm: Arm, seed: int, out: str, extra: dict,
             pretrain: Run | None = None) -> Run:
    """One (arm, seed) run under ``out``, starting from ``pretrain``'s weights."""
    cfg = Config.fromfile(osp.join(REPO, arm.config))
    cfg.merge_from_dict(spec.run_options(arm, seed, extra))
    if spec.val_points:
        set_val_points(cfg, spec.val_points)
    text = cfg.pretty_text  # the identity never holds a path of the output folder
    if pretrain is not None:
        text += pretrain.key
        cfg.load_from = pretrain.weights
    run_dir = osp.join(out, 'runs', arm.name, f'seed{seed}')
    cfg.work_dir = run_dir
    return Run(arm, seed, run_dir, cfg, hashlib.sha256(text.encode()).hexdigest()[:16],
               archive=osp.join(out, 'results', arm.name, f'seed{seed}.json'),
               pretrain=pretrain)


def environment(device: str) -> dict:
    import torch
    if device == 'cuda':
        where = torch.cuda.get_device_name(0)
    else:
        where = f'CPU, {os.cpu_count()} cores of {cpu_model()}'
    return {'machine': f'{where}; torch {torch.__version__}',
            'written': datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}


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
        try:
            spec.select_arms(args.arms)
        except SpecError as err:
            print(f'error: --arms {err}', file=sys.stderr)
            return 2
    if args.launcher == 'slurm':  # the device is the compute nodes', not this machine's
        if args.device == 'cpu' and args.gpus_per_run:
            print(f'error: --device cpu with --gpus-per-run {args.gpus_per_run}; give one of '
                  'them', file=sys.stderr)
            return 2
        if args.gpus_per_run is None:
            args.gpus_per_run = 0 if args.device == 'cpu' else 1
        args.device = 'cuda' if args.gpus_per_run else 'cpu'
    if args.device is None:
        import torch
        args.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    out = args.out or osp.join(REPO, 'work_dirs', 'experiments', spec.name)
    os.makedirs(out, exist_ok=True)
    with contextlib.ExitStack() as held:
        if not args.report_only:  # one training program per folder
            try:
                held.enter_context(out_lock(out))
            except OutFolderBusy as err:
                print(f'error: {err}', file=sys.stderr)
                return 2
        return _plan_train_report(args, spec, out)


def _plan_train_report(args, spec: ExperimentSpec, out: str) -> int:
    """Plan ``spec``'s runs in ``out``, train the unfinished ones (unless
    ``--report-only``) and write the report; main's exit status."""
    pretrains, runs = plan(spec, out, dict(args.cfg_options))
    if args.resume_from:
        archive = osp.join(args.resume_from, 'results')
        if not osp.isdir(archive):
            print(f'error: --resume-from {args.resume_from}: no results/ folder there',
                  file=sys.stderr)
            return 2
        print(f'{adopt_archived(pretrains + runs, archive)} finished run(s) taken from '
              f'{archive}', flush=True)
    pending = [r for r in runs if not r.finished()]
    print(f'{spec.name}: {len(spec.arms)} arms x {len(spec.seeds)} seeds = {len(runs)} runs; '
          f'{len(runs) - len(pending)} finished, {len(pending)} to run', flush=True)
    # a pretrain is (re)trained when an arm that loads it still has to run
    # and its archived weights are missing
    pending_pretrains = [p for p in pretrains if not p.has_weights()
                         and any(r.pretrain is p for r in pending)]
    if pending_pretrains:
        configs = sorted({p.arm.config for p in pending_pretrains})
        print(f'and {len(pending_pretrains)} stage-1 run(s) ({", ".join(configs)}), each '
              'before the arms that load it', flush=True)

    slurm = SlurmOptions(args.partition, args.gpus_per_run or 0, shlex.split(args.srun_args),
                         args.jobs, args.poll)
    failures = []
    if pending and not args.report_only:
        try:
            ensure_data(spec, REPO)
        except SpecError as err:
            print(f'error: {err}', file=sys.stderr)
            return 2
        try:
            if args.launcher == 'slurm':
                failures = run_on_slurm(spec, pending_pretrains, pending, out, slurm, TOOLS)
            else:
                failures = train_local(spec, pending_pretrains, pending, args.jobs or 1,
                                       args.device, TOOLS)
        except SlurmError as err:
            print(f'error: {err}', file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print('interrupted: finished runs are kept; ' + (
                f'the SLURM jobs keep running (ids in {out}/slurm/submitted.json); run the '
                'same command to wait for them' if args.launcher == 'slurm'
                else 'run the same command to resume'), file=sys.stderr)
            return 130

    results = [r for r in (run.result() for run in runs) if r is not None]
    stage1 = [r for r in (p.result() for p in pretrains) if r is not None]
    kept, published = [], not results and args.report_only and osp.isfile(
        osp.join(out, 'runs.csv'))
    if published:
        results = published_results(out, [a.name for a in spec.arms], spec.seeds)
        kept = kept_section(osp.join(out, 'report.md'), 'Training scalars')
        print(f'no run folders in {out}: reporting its runs.csv ({len(results)} runs)')
    elif results:
        write_runs_csv(osp.join(out, 'runs.csv'), list(spec.metrics), results)
        write_curves_csv(osp.join(out, 'curves.csv'), results + stage1)
    if not results:
        print('error: no finished runs to report', file=sys.stderr)
        return 1
    env_lines = slurm.environment() if args.launcher == 'slurm' else environment(args.device)
    if published:
        env_lines = published_environment(osp.join(out, 'report.md'), env_lines)
    plots = plot_all(out, spec, results, stage1)
    report = write_report(out, spec, results, env_lines, plots, kept, stage1)
    print(f'report: {report}')
    if args.publish:
        dest = osp.join(REPO, 'docs', 'evidence', spec.name)
        os.makedirs(dest, exist_ok=True)
        for name in REPORT_FILES:
            if osp.isfile(osp.join(out, name)):
                shutil.copy2(osp.join(out, name), dest)
        archive = osp.join(out, 'results')
        if osp.isdir(archive):
            shutil.copytree(archive, osp.join(dest, 'results'), dirs_exist_ok=True)
        print(f'published to {dest}')
    if failures:
        print(f'error: {len(failures)} run(s) failed: ' + '; '.join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
