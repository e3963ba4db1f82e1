"""Subprocess parts of ``tools/gpu_check.py``: ``--resume`` through
``tools/train.py``, ``tools/dist_train.sh`` over NCCL with a rank-equality
check, and timings by ``tools/benchmark.py`` (throughput, peak memory,
channels-last). Each runs its tools in their own process group, output to a
log under ``--out``; a failure becomes a FAIL row with a one-line reason.
:class:`RankStateDumpHook` reaches the ``dist_train.sh`` processes through a
copy of this file and ``gpu_check_steps.py``."""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import Optional

import torch
import torch.distributed as dist
from gpu_check_steps import Row, one_line
from mmengine.config import Config
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmpose.registry import HOOKS

from hrgan_plugin.utils.model_wrappers import unwrap_model

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
QS_HRGAN = 'configs/quickstart/hrgan_synthetic-coco_128x96.py'
QS_ASR_AHO = 'configs/quickstart/hrnet_asr-aho_synthetic-mpii_128x128.py'
HRGAN_W32 = 'configs/hrgan_w32_coco_256x192.py'
BENCH = [('HRNet-W32', 'configs/hrnet_w32_coco_256x192.py'),
         ('HRGAN-W32 (reference D)', HRGAN_W32),
         ('HRNet-W32 + ASR/AHO', 'configs/hrnet_w32_asr-aho_coco_256x192.py')]
LOAD_SNIPPET = ('import sys, torch\nfor p in sys.argv[1:]:\n'
                "    torch.load(p, map_location='cpu')\n    torch.load(p)\n")


def last_error_line(text: str) -> str:
    """The line of a log that says what went wrong (the last exception or
    ``error:`` line, else the last line), at most 300 characters."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    pattern = re.compile(r'^(error:|training stopped:|[\w.]*(Error|Exception|Interrupt)\b)')
    found = [ln for ln in lines if pattern.match(ln)]
    return (found or lines or ['(no output)'])[-1][:300]


def run_logged(cmd: list[str], log: str, timeout: int, env: Optional[dict] = None) -> str:
    """Run ``cmd`` from the repository root, output to ``log``, in its own
    process group (killed whole on timeout). Returns '' on success, else a
    one-line reason naming the log."""
    os.makedirs(osp.dirname(log), exist_ok=True)
    with open(log, 'w') as f:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=f, stderr=subprocess.STDOUT,
                                env=dict(os.environ, **(env or {})), start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return f'timed out after {timeout} s (log: {log})'
    if rc == 0:
        return ''
    with open(log) as f:
        return f'exit status {rc}: {last_error_line(f.read())} (log: {log})'


def write_config(cfg, path: str) -> str:
    """Dump the mmengine ``cfg`` to ``path`` (a stand-alone config file)."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    cfg.dump(path)
    return path


def short_config(path: str, args: argparse.Namespace, epochs: int = 1):
    """``path`` for a short run on the synthetic data: ``epochs`` epochs, a
    checkpoint every epoch; ASR/AHO skips pose pre-training."""
    cfg = Config.fromfile(path)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(key):
            cfg[key].dataset.data_root = args.data_root + '/'
    cfg.train_cfg.update(max_epochs=epochs, val_interval=epochs)
    cfg.default_hooks.checkpoint.interval = 1
    cfg.default_hooks.logger.interval = 5
    for hook in cfg.get('custom_hooks', []):
        if hook.get('type') == 'AdversarialAugmentationHook':
            hook.update(pose_pretrain_epochs=0, agent_pretrain_iters=2)
    return cfg


def resume_rows(args: argparse.Namespace) -> list[Row]:
    """1 epoch, ``--resume`` for a 2nd, then plain ``torch.load`` of every
    checkpoint in a process that sees no GPU."""
    rows = []
    for name, config in (('HRGAN quickstart', QS_HRGAN), ('ASR/AHO quickstart', QS_ASR_AHO)):
        work = osp.join(args.out, 'resume', re.sub(r'\W+', '_', name))
        shutil.rmtree(work, ignore_errors=True)
        try:
            cfg_file = write_config(short_config(config, args), osp.join(work, 'config.py'))
        except Exception as err:  # noqa: BLE001  (a check reports, the others run)
            rows.append(Row('resume', name, 'FAIL', note=f'config: {err}'[:300]))
            continue
        train = [sys.executable, 'tools/train.py', cfg_file, '--work-dir', work, '--no-validate']
        start = time.time()
        why = run_logged(train, osp.join(work, 'train.log'), args.timeout) or run_logged(
            train + ['--resume', '--cfg-options', 'train_cfg.max_epochs=2'],
            osp.join(work, 'resume.log'), args.timeout)
        if not why:
            with open(osp.join(work, 'resume.log')) as f:
                if 'resumed epoch: 1' not in f.read():
                    why = "the second run did not log 'resumed epoch: 1'"
        ckpts = sorted(osp.join(work, f) for f in os.listdir(work) if f.endswith('.pth'))
        if not why and osp.join(work, 'epoch_2.pth') not in ckpts:
            why = f'no epoch_2.pth after resuming ({[osp.basename(c) for c in ckpts]})'
        if not why:
            why = run_logged([sys.executable, '-c', LOAD_SNIPPET, *ckpts],
                             osp.join(work, 'load_on_cpu.log'), 120,
                             env=dict(CUDA_VISIBLE_DEVICES=''))
            why = why and f'torch.load without CUDA: {why}'
        rows.append(Row('resume', name, 'FAIL' if why else 'PASS',
                        dict(checkpoints=len(ckpts), seconds=round(time.time() - start)), why))
    return rows


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def dist_rows(args: argparse.Namespace) -> list[Row]:
    """``dist_train.sh`` on 2 GPUs (1 epoch of the quickstart HRGAN, NCCL);
    PASS when both ranks end with the same model state (max |diff| <= 1e-6)."""
    check, case = 'dist_train.sh (NCCL)', '2 processes, HRGAN quickstart'
    if torch.cuda.device_count() < 2:
        return [Row(check, case, 'SKIP', note=f'{torch.cuda.device_count()} GPU visible')]
    work = osp.join(args.out, 'dist')
    shutil.rmtree(work, ignore_errors=True)
    try:
        pydir = osp.join(work, 'py')  # the rank-dump hook, importable by the config
        os.makedirs(pydir)
        for name in ('gpu_check_steps.py', 'gpu_check_runs.py'):
            shutil.copy(osp.join(REPO, 'tools', name), pydir)
        cfg = short_config(QS_HRGAN, args)
        cfg.custom_imports = dict(imports=[*cfg.get('custom_imports', {}).get(
            'imports', ['hrgan_plugin']), 'gpu_check_runs'], allow_failed_imports=False)
        cfg.custom_hooks = [*cfg.custom_hooks,
                            dict(type='RankStateDumpHook', out_dir=osp.join(work, 'ranks'))]
        cfg_file = write_config(cfg, osp.join(work, 'config.py'))
    except Exception as err:  # noqa: BLE001
        return [Row(check, case, 'FAIL', note=f'config: {err}'[:300])]
    env = dict(PYTHON=sys.executable, PORT=str(free_port()),
               PYTHONPATH=os.pathsep.join(filter(None, [pydir, os.environ.get('PYTHONPATH')])))
    why = run_logged(['bash', 'tools/dist_train.sh', cfg_file, '2', '--work-dir',
                      osp.join(work, 'run'), '--no-validate'], osp.join(work, 'train.log'),
                     args.timeout, env)
    if why:
        return [Row(check, case, 'FAIL', note=why)]
    try:
        dumps = [torch.load(osp.join(work, 'ranks', f'rank{r}.pth'), map_location='cpu')
                 for r in (0, 1)]
    except Exception as err:  # noqa: BLE001
        return [Row(check, case, 'FAIL', note=f'rank states: {err}'[:300])]
    states = [d['state'] for d in dumps]
    if states[0].keys() != states[1].keys():
        return [Row(check, case, 'FAIL', note='the ranks hold different state keys')]
    diffs = {k: float((v.double() - states[1][k].double()).abs().max()) if v.numel() else 0.0
             for k, v in states[0].items()}
    worst = max(diffs, key=diffs.get)
    figures = dict(backend=dumps[0]['backend'], tensors=len(diffs), max_abs_diff=diffs[worst],
                   unequal=sum(d > 0 for d in diffs.values()))
    why = '' if diffs[worst] <= 1e-6 else f'ranks differ, most in {worst}'
    if args.device == 'cuda' and figures['backend'] != 'nccl':
        why = why or f"process group backend {figures['backend']}, not nccl"
    return [Row(check, case, 'FAIL' if why else 'PASS', figures, why)]


def benchmark(configs: list[str], batch: int, args: argparse.Namespace, tag: str,
              memory: bool = True) -> list[dict]:
    """``tools/benchmark.py`` on ``configs`` (a second one interleaved with
    ``--vs``) on ``args.device``; per config img/s, s/iteration, peak memory."""
    out = osp.join(args.out, 'bench', f'{tag}.json')
    cmd = [sys.executable, 'tools/benchmark.py', configs[0], *(['--vs', configs[1]]
           if len(configs) > 1 else []), '--device', args.device, '--batch', str(batch),
           '--iters', str(args.bench_iters), '--warmup', str(args.bench_warmup),
           '--data-root', args.data_root + '/', '--out', out, *([] if memory else ['--no-memory'])]
    why = run_logged(cmd, osp.join(args.out, 'bench', f'{tag}.log'), 2 * args.timeout)
    if why:
        raise RuntimeError(why)
    with open(out) as f:
        result = json.load(f)
    medians = list(result['medians_s'].values())
    mem = list(result.get('memory_mib', {}).values()) or [{}] * len(medians)
    return [dict(img_s=m['train_img_s'], s_iter=m['train'], batch=batch,
                 mem_mib=mm.get('cuda_max_allocated_mib')) for m, mm in zip(medians, mem)]


def throughput(args: argparse.Namespace) -> tuple[list[Row], list[dict]]:
    """HRNet-W32 against each of the others, at the configs' batch sizes."""
    rows, table = [], []
    batches = {c: Config.fromfile(c).train_dataloader.batch_size for _, c in BENCH}
    (base_name, base), base_figs = BENCH[0], None
    for i, (name, config) in enumerate(BENCH[1:]):
        try:  # interleaved with HRNet-W32 when the batch sizes agree
            pair = batches[config] == batches[base]
            figs = benchmark([base, config] if pair else [config], batches[config], args,
                             f'bench{i}')
            if base_figs is None:
                base_figs = figs[0] if pair else benchmark([base], batches[base], args,
                                                           'base')[0]
            figs[-1]['base_img_s'] = (figs[0] if pair else base_figs)['img_s']
            figs[-1]['ratio'] = figs[-1]['base_img_s'] / figs[-1]['img_s']
            table.append(dict(name=name, config=config, **figs[-1]))
            rows.append(Row('throughput', name, 'PASS', dict(img_s=figs[-1]['img_s'])))
        except Exception as err:  # noqa: BLE001
            rows.append(Row('throughput', name, 'FAIL', note=one_line(err)))
    if base_figs is not None:
        table.insert(0, dict(name=base_name, config=base, ratio=1.0,
                             base_img_s=base_figs['img_s'], **base_figs))
    return rows, table


def channels_last_timing(args: argparse.Namespace) -> list[Row]:
    """img/s of ``--channels-last-config`` with and without ChannelsLastHook."""
    case = f'img/s vs NCHW, {osp.basename(args.channels_last_config)}'
    try:
        cfg = Config.fromfile(args.channels_last_config)
        cfg.custom_hooks = [h for h in cfg.custom_hooks if h.get('type') != 'ChannelsLastHook']
        nchw = write_config(cfg, osp.join(args.out, 'channels_last', 'nchw.py'))
        a, b = benchmark([nchw, args.channels_last_config],
                         cfg.train_dataloader.batch_size, args, 'channels_last', memory=False)
        return [Row('channels_last', case, 'PASS', dict(
            nchw_img_s=a['img_s'], nhwc_img_s=b['img_s'], speedup=b['img_s'] / a['img_s']))]
    except Exception as err:  # noqa: BLE001
        return [Row('channels_last', case, 'FAIL', note=one_line(err))]


@HOOKS.register_module(force=True)
class RankStateDumpHook(Hook):
    """Saves this rank's model state (CPU tensors, DDP prefixes removed) and
    the process group's backend to ``out_dir/rank{R}.pth`` when training
    ends, after the other hooks."""

    priority = 'LOWEST'

    def __init__(self, out_dir: str) -> None:
        self.out_dir = out_dir

    def after_train(self, runner) -> None:
        state = {k.replace('.module.', '.'): v.detach().cpu().clone()
                 for k, v in unwrap_model(runner.model).state_dict().items()}
        backend = dist.get_backend() if dist.is_initialized() else 'none'
        os.makedirs(self.out_dir, exist_ok=True)
        torch.save(dict(state=state, backend=str(backend)),
                   osp.join(self.out_dir, f'rank{get_rank()}.pth'))
