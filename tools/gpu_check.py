"""Check on a CUDA machine what the CPU tests cannot, and print a markdown report.

``tools/gpu_check.sh`` runs this with the repository's python::

    bash tools/gpu_check.sh [--out work_dirs/gpu_check] [--only grad,resume] [--skip dist]

Checks (each independent: one that fails reports FAIL with a one-line reason
and the others still run; exit status 1 if any failed):

- ``grad``: the generator gradient of ``lambda_G * L_adv`` (two train_steps,
  lambda_G vs 0, from the same state), quickstart HRGAN at lambda_G 1e-2 and
  2e-4, against lambda_G times the IEEE fp32 difference at lambda_G 1, in
  fp32 (one backward at lambda_G: its own rounding), tf32 (cuDNN's
  default on Ampere and later), fp16 and bf16 AMP; PASS at cosine >= 0.99
  and norm within 5 %.
- ``asr-aho``: one ASR/AHO iteration (agent pre-training steps, then a joint
  one) per precision, quickstart config; PASS when every loss is finite.
- ``channels-last``: one HRGAN iteration with ``ChannelsLastHook`` (finite,
  NHWC), and its img/s against NCHW (``tools/benchmark.py``).
- ``resume``: 1 epoch with ``tools/train.py``, ``--resume`` for a 2nd, then
  the checkpoints load with ``torch.load`` on a CUDA-less process.
- ``dist``: with 2+ GPUs, ``tools/dist_train.sh`` on 2 processes (NCCL) and
  the ranks' final model states compared.
- ``throughput``: ``tools/benchmark.py`` img/s and peak CUDA memory of
  HRNet-W32, HRGAN-W32 (reference D) and HRNet-W32 + ASR/AHO.
"""
from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import os.path as osp
import platform
import subprocess
import sys
import time
import warnings
from typing import Optional

import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CHECKS = ('grad', 'asr-aho', 'channels-last', 'resume', 'dist', 'throughput')
REFUSAL = ('error: tools/gpu_check.sh needs a CUDA GPU (torch.cuda.is_available() is False); '
           'nothing was run')

def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default=osp.join(REPO, 'work_dirs', 'gpu_check'),
                        help='work dir: gpu_check_report.md, gpu_check_results.json, logs')
    parser.add_argument('--only', help=f'comma-separated subset of {",".join(CHECKS)}')
    parser.add_argument('--skip', default='', help='comma-separated checks to leave out')
    parser.add_argument('--data-root', default=osp.join(REPO, 'data', 'synthetic'),
                        help='synthetic dataset (written by make_synthetic_dataset.py if absent)')
    parser.add_argument('--precisions', default='fp32,tf32,fp16,bf16',
                        help='fp32 (IEEE), tf32 (fp32 with TF32 convolutions: grad only), '
                        'fp16, bf16 (AmpOptimWrapper)')
    parser.add_argument('--lambda-g', default='1e-2,2e-4', help='lambda_G values for `grad`')
    parser.add_argument('--batch', type=int, help='batch of the quickstart iterations '
                        "(default: the config's)")
    parser.add_argument('--bench-iters', type=int, default=10)
    parser.add_argument('--bench-warmup', type=int, default=3)
    parser.add_argument('--channels-last-config',
                        default=osp.join(REPO, 'configs', 'hrgan_w32_coco_256x192.py'),
                        help='config timed with and without ChannelsLastHook')
    parser.add_argument('--timeout', type=int, default=300, help='seconds per subprocess')
    parser.add_argument('--device', default='cuda', choices=['cuda', 'cpu'],
                        help=argparse.SUPPRESS)  # internal: the CPU dry run of the tests
    args = parser.parse_args(argv)
    chosen = args.only.split(',') if args.only else list(CHECKS)
    unknown = [c for c in chosen + [s for s in args.skip.split(',') if s] if c not in CHECKS]
    if unknown:
        parser.error(f'unknown checks {unknown}; choose from {",".join(CHECKS)}')
    args.checks = [c for c in chosen if c not in args.skip.split(',')]
    args.precisions = args.precisions.split(',')
    if set(args.precisions) - {'fp32', 'tf32', 'fp16', 'bf16'}:
        parser.error(f'--precisions: choose from fp32, tf32, fp16, bf16, not {args.precisions}')
    args.lambdas = [float(v) for v in args.lambda_g.split(',')]
    args.data_root = osp.abspath(args.data_root)
    args.out = osp.abspath(args.out)
    args.channels_last_config = osp.abspath(args.channels_last_config)
    return args


def fmt(figures: dict) -> str:
    """``key value`` pairs for the report."""
    def one(v: object) -> str:
        if isinstance(v, bool):
            return 'yes' if v else 'no'
        return f'{v:.6f}' if isinstance(v, float) and abs(v) <= 1.5 else (
            f'{v:.4g}' if isinstance(v, float) else str(v))
    return ', '.join(f'{k} {one(v)}' for k, v in figures.items())


def header(args: argparse.Namespace, elapsed: float, rows: list) -> list[str]:
    """The report's environment and summary lines."""
    def git(*a: str) -> str:
        p = subprocess.run(['git', *a], cwd=REPO, capture_output=True, text=True)
        return p.stdout.strip()
    if args.device == 'cuda':
        gpus = [f'{torch.cuda.get_device_name(i)} '
                f'({torch.cuda.get_device_properties(i).total_memory / 2**30:.0f} GiB)'
                for i in range(torch.cuda.device_count())]
        device = f'{len(gpus)} GPU: ' + '; '.join(gpus)
    else:
        device = 'cpu (internal dry run of the tests: not a GPU check)'
    counts = {s: sum(r.status == s for r in rows) for s in ('PASS', 'FAIL', 'SKIP')}
    return [f'- device: {device}',
            f'- torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN '
            f'{torch.backends.cudnn.version()}, {platform.node()}',
            f'- commit {git("rev-parse", "--short", "HEAD")}'
            f'{" (uncommitted changes)" if git("status", "--porcelain") else ""}, '
            f'{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}, '
            f'{elapsed:.0f} s',
            f'- result: {counts["PASS"]} PASS, {counts["FAIL"]} FAIL, {counts["SKIP"]} SKIP']


def report(args: argparse.Namespace, rows: list, table: list[dict], elapsed: float) -> str:
    """The markdown report."""
    lines = ['# GPU check report', '', *header(args, elapsed, rows), '',
             '| check | case | result | figures | note |', '|---|---|---|---|---|']
    lines += [f'| {r.check} | {r.case} | {r.status} | {fmt(r.figures)} | '
              f'{r.note.replace("|", "/")} |' for r in rows]
    if table:
        lines += ['', 'Training throughput (tools/benchmark.py, fp32, synthetic COCO 256x192):',
                  '', '| config | batch | train img/s | s/iter | peak CUDA memory (MiB) '
                  '| HRNet-W32 img/s in the same run | time ratio vs HRNet-W32 |',
                  '|---|---|---|---|---|---|---|']
        lines += [f'| {t["name"]} | {t["batch"]} | {t["img_s"]:.1f} | {t["s_iter"]:.4f} | '
                  f'{t["mem_mib"] or float("nan"):.0f} | '
                  f'{t.get("base_img_s", float("nan")):.1f} | '
                  f'{t.get("ratio", float("nan")):.2f} |' for t in table]
    lines += ['', 'grad: cosine and relative norm of the generator gradient of lambda_G * L_adv '
              '(train_step at lambda_G minus at 0, from one state and batch) against lambda_G '
              'times that difference at lambda_G 1 in IEEE fp32 (TF32 off; the gradient is '
              'linear in lambda_G); fp32 is one IEEE fp32 backward at lambda_G (its own '
              "rounding), tf32 is fp32 with TF32 convolutions (cuDNN's default on Ampere and "
              'later), fp16/bf16 AmpOptimWrapper with dynamic loss scale; PASS: cosine >= 0.99 '
              "and norm within 5 %. adv_share: its norm over the gradient's at lambda_G 0. "
              f"Quickstart iterations at batch {args.batch or 'of the config'}.",
              '', 'dist: largest |difference| of any model tensor between rank 0 and rank 1 '
              'after the run (PASS <= 1e-6). throughput: time ratio = HRNet-W32 img/s over '
              "the config's, timed interleaved in one tools/benchmark.py process."]
    return '\n'.join(lines) + '\n'


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    if args.device == 'cuda':
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            if not torch.cuda.is_available():
                print(REFUSAL, file=sys.stderr)
                return 2
    start = time.time()
    os.chdir(REPO)
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    import gpu_check_grad as grad  # after the GPU check: these import mmengine and mmpose
    import gpu_check_runs as runs
    import gpu_check_steps as steps
    rows: list[steps.Row] = []
    table: list[dict] = []

    def add(new: list) -> None:
        for r in new:
            print(f'[gpu_check] {r.check} | {r.case}: {r.status} {fmt(r.figures)} {r.note}',
                  flush=True)
        rows.extend(new)

    if not osp.isfile(osp.join(args.data_root, 'annotations', 'coco_train.json')):
        why = runs.run_logged([sys.executable, 'tools/make_synthetic_dataset.py', '--out',
                               args.data_root], osp.join(args.out, 'make_data.log'), args.timeout)
        add([steps.Row('setup', f'synthetic data in {args.data_root}',
                       'FAIL' if why else 'PASS', note=why)])
    on_cpu = args.device == 'cpu'

    def grad_check() -> list:
        it = steps.Iteration(steps.iteration_config(
            runs.QS_HRGAN, args.data_root, osp.join(args.out, 'grad'), args.batch,
            meters=not on_cpu), args.device)
        return grad.gradient_rows(it, args.precisions, args.lambdas,
                                  'AMP gradient (HRGAN quickstart)')

    def channels_last() -> list:
        return [steps.channels_last_row(runs.QS_HRGAN, args.data_root, osp.join(
            args.out, 'channels_last'), args.device, args.batch), *runs.channels_last_timing(args)]

    def throughput() -> list:
        new, found = runs.throughput(args)
        table.extend(found)
        return new

    checks = {
        'grad': grad_check,
        'asr-aho': lambda: steps.finite_iteration_rows(
            runs.QS_ASR_AHO, args.data_root, osp.join(args.out, 'asr-aho'), args.device,
            [p for p in args.precisions if p != 'tf32'], args.batch,
            'ASR/AHO iteration (quickstart)'),
        'channels-last': channels_last,
        'resume': lambda: runs.resume_rows(args),
        'dist': lambda: runs.dist_rows(args),
        'throughput': throughput,
    }
    for name in args.checks:
        if on_cpu and name not in ('grad', 'asr-aho'):
            add([steps.Row(name, '-', 'SKIP', note='needs CUDA (CPU dry run)')])
            continue
        try:
            add(checks[name]())
        except Exception as err:  # noqa: BLE001  (one check fails, the others still run)
            add([steps.Row(name, '-', 'FAIL', note=steps.one_line(err))])
        gc.collect()
        if not on_cpu:
            torch.cuda.empty_cache()
    text = report(args, rows, table, time.time() - start)
    os.makedirs(args.out, exist_ok=True)
    with open(osp.join(args.out, 'gpu_check_report.md'), 'w') as f:
        f.write(text)
    with open(osp.join(args.out, 'gpu_check_results.json'), 'w') as f:
        json.dump(dict(rows=[vars(r) for r in rows], throughput=table), f, indent=2)
    print(text)
    print(f'wrote {osp.join(args.out, "gpu_check_report.md")}')
    return 1 if any(r.status == 'FAIL' for r in rows) else 0


if __name__ == '__main__':
    sys.exit(main())
