"""Time training and inference of one config, or two side by side.

Training iterations are timed exactly as the runner runs them (data
preprocessing, forward, backward, optimiser steps and every hook's
``before/after_train_iter``) on a batch fetched beforehand; fetching batches
through the config's pipeline is timed separately as data time.  Inference is
timed with and without flip test.  With ``--vs`` the two configs run in the
same process, interleaved iteration by iteration after warm-up, so the ratio
is not skewed by a machine that speeds up or slows down.

Peak memory is measured for each config in a separate process running the
same training iterations: on CPU (Linux) the peak resident set size of that
process during training (reset once the runner is built) and its rise over
the resident size when training starts, on GPU
``torch.cuda.max_memory_allocated``.

Images come from the synthetic dataset (``make data``) in the format of the
config's dataset (COCO or MPII), through the config's own pipeline.
``mmpose::`` names one of mmpose's own configs::

    python tools/benchmark.py configs/hrnet_w32_coco_256x192.py \
        --vs configs/hrgan_w32_coco_256x192.py --iters 10 --batch 8
    python tools/benchmark.py \
        mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_hrnet-w32_8xb64-210e_coco-256x192.py \
        --vs configs/hrgan_w32_coco_256x192.py --vs-amp --device cuda --batch 64
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager

import torch
from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS
from mmengine.runner import Runner

import hrgan_plugin  # noqa: F401  (registers the plugin's modules)
from hrgan_plugin.utils.model_wrappers import unwrap_model
from hrgan_plugin.utils.preflight import DataConfigError, check_data_paths

SYNTHETIC = {
    'CocoDataset': dict(ann='annotations/coco_{}.json'),
    'MpiiDataset': dict(ann='annotations/mpii_{}.json'),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--vs', help='second config, timed interleaved with the first')
    parser.add_argument('--iters', type=int, default=10, help='timed iterations')
    parser.add_argument('--warmup', type=int, default=2, help='untimed iterations first')
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--amp', action='store_true',
                        help='AmpOptimWrapper: autocast on --device (cpu: bfloat16, cuda: float16)')
    parser.add_argument('--vs-amp', action='store_true',
                        help='AMP for the --vs config only (e.g. stock fp32 vs ours with AMP)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu',
                        choices=['cpu', 'cuda'])
    parser.add_argument('--data-root', default='data/synthetic/',
                        help='synthetic dataset root (make data)')
    parser.add_argument('--out', default='bench_results/benchmark.json', help='JSON output')
    parser.add_argument('--no-memory', action='store_true', help='skip the peak-memory runs')
    parser.add_argument('--memory-only', action='store_true',
                        help='(internal) train CONFIG alone and print its peak memory as JSON')
    args = parser.parse_args()
    if args.vs_amp and not args.vs:
        parser.error('--vs-amp needs --vs')
    return args


@OPTIM_WRAPPERS.register_module(force=True)
class BenchmarkAmpOptimWrapper(AmpOptimWrapper):
    """mmengine's ``AmpOptimWrapper`` with its autocast region on
    ``device_type``, the device the benchmark runs on.

    ``AmpOptimWrapper`` autocasts on ``get_device()``, the host's best
    device: ``--device cpu --amp`` on a GPU host would autocast CUDA ops
    only, and time fp32 as AMP. On the CPU it autocasts to bfloat16 (the
    CPU's only autocast type) without loss scaling, on any host
    (``AmpOptimWrapper`` itself refuses hosts without an accelerator).
    """

    def __init__(self, *args, device_type: str = 'cuda', **kwargs) -> None:
        self.device_type = device_type
        if device_type != 'cpu':
            super().__init__(*args, **kwargs)
            return
        dtype = kwargs.pop('dtype', None) or 'bfloat16'
        for unused in ('loss_scale', 'use_fsdp'):
            kwargs.pop(unused, None)
        OptimWrapper.__init__(self, *args, **kwargs)
        self._scale_update_param = None
        self.loss_scaler = torch.amp.GradScaler('cpu', enabled=False)
        self.cast_dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        from mmengine.runner.amp import autocast
        with OptimWrapper.optim_context(self, model), \
                autocast(device_type=self.device_type, dtype=self.cast_dtype):
            yield


def bench_config(path: str, args: argparse.Namespace, work_dir: str, amp: bool) -> Config:
    """The config with synthetic data, the requested batch and no logging.
    ``mmpose::PATH`` names a config packaged with mmpose."""
    cfg = get_config(path) if '::' in path else Config.fromfile(path)
    ds_type = cfg.train_dataloader.dataset.type
    if ds_type not in SYNTHETIC:
        raise ValueError(f'{path}: benchmark supports {sorted(SYNTHETIC)} datasets, '
                         f'not {ds_type}')
    ann = SYNTHETIC[ds_type]['ann']
    for key, split in (('train_dataloader', 'train'), ('val_dataloader', 'val')):
        loader = cfg[key]
        loader.update(batch_size=args.batch, num_workers=0, persistent_workers=False)
        loader.dataset.update(data_root=args.data_root, ann_file=ann.format(split),
                              data_prefix=dict(img=f'images/{split}/'), bbox_file=None,
                              headbox_file=None)
        if ds_type == 'MpiiDataset':
            loader.dataset.pop('bbox_file')
        else:
            loader.dataset.pop('headbox_file')
    for key in ('test_dataloader', 'test_cfg', 'test_evaluator', 'val_evaluator', 'val_cfg'):
        cfg.pop(key, None)
    cfg.val_dataloader = None
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    cfg.default_hooks.pop('checkpoint', None)
    cfg.default_hooks.pop('logger', None)
    cfg.visualizer = dict(type='PoseLocalVisualizer', vis_backends=[],
                          name=f'vis_{osp.basename(path)}')
    if amp:
        wrappers = ([cfg.optim_wrapper[k] for k in ('generator', 'discriminator')]
                    if 'generator' in cfg.optim_wrapper else [cfg.optim_wrapper])
        for w in wrappers:
            w.update(type='BenchmarkAmpOptimWrapper', device_type=args.device)
    cfg.model.backbone.init_cfg = None
    for hook in cfg.get('custom_hooks', []):
        if hook.get('type') == 'AdversarialAugmentationHook':
            # time joint training (stage 3), the method's steady state
            hook.update(pose_pretrain_epochs=0, agent_pretrain_iters=0)
    check_data_paths(cfg, ('train_dataloader', ))
    return cfg


class Bench:
    """A runner prepared as ``Runner.train`` prepares it, driven by hand."""

    def __init__(self, path: str, args: argparse.Namespace, work_dir: str, amp: bool):
        self.name = osp.splitext(osp.basename(path))[0] + (' (AMP)' if amp else '')
        cfg = bench_config(path, args, work_dir, amp)
        cfg.experiment_name = f'bench_{self.name}_{id(self)}'
        runner = Runner.from_cfg(cfg)
        # mmengine only ever switches cuDNN autotuning on, process-wide: keep
        # each config's own setting for its own iterations
        self.cudnn_benchmark = bool(cfg.get('env_cfg', {}).get('cudnn_benchmark', False))
        runner.model.to(args.device)
        runner._train_loop = runner.build_train_loop(runner._train_loop)
        runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
        if runner.param_schedulers is not None:
            runner.param_schedulers = runner.build_param_scheduler(runner.param_schedulers)
        runner.call_hook('before_run')
        runner.optim_wrapper.initialize_count_status(runner.model, 0, runner.train_loop.max_iters)
        runner.call_hook('before_train')
        runner.call_hook('before_train_epoch')
        self.runner = runner
        self.device = args.device
        self.loader = iter(runner.train_loop.dataloader)
        self.batch = next(self.loader)
        self.times: dict[str, list[float]] = {'data': [], 'train': [], 'forward': [],
                                              'infer': [], 'infer_flip': []}
        self.idx = 0

    def _sync(self) -> None:
        if self.device == 'cuda':
            torch.cuda.synchronize()

    @contextmanager
    def _timed(self, key: str, record: bool):
        self._sync()
        start = time.perf_counter()
        yield
        self._sync()
        if record:
            self.times[key].append(time.perf_counter() - start)

    def step(self, record: bool) -> None:
        torch.backends.cudnn.benchmark = self.cudnn_benchmark
        with self._timed('data', record):
            try:
                next(self.loader)
            except StopIteration:
                self.loader = iter(self.runner.train_loop.dataloader)
                next(self.loader)
        model = self.runner.model
        with self._timed('train', record):
            model.train()  # (a hook may replace rows of the batch: give it a copy)
            self.runner.train_loop.run_iter(self.idx, {k: list(v) for k, v in self.batch.items()})
        self.idx += 1
        inner = unwrap_model(model)
        model.eval()
        with self._timed('forward', record), torch.no_grad():  # the pose net's eval pass
            inner.head(inner.extract_feat(model.data_preprocessor(self.batch)['inputs']))
        for key, flip in (('infer', False), ('infer_flip', True)):
            inner.test_cfg['flip_test'] = flip
            with self._timed(key, record), torch.no_grad():
                model.test_step(self.batch)

    def medians(self) -> dict[str, float]:
        return {k: statistics.median(v) for k, v in self.times.items() if v}


def _status_mib(field: str) -> float:
    """``VmRSS`` / ``VmHWM`` of this process from /proc, in MiB."""
    with open('/proc/self/status') as f:
        line = next(ln for ln in f if ln.startswith(field + ':'))
    return int(line.split()[1]) / 1024  # kB


def peak_memory(bench: Bench, args: argparse.Namespace) -> dict[str, float]:
    """Train ``warmup + iters`` iterations; peak memory in MiB. On CPU the
    peak RSS is reset (``/proc/self/clear_refs``) once the runner is built,
    so it is the peak of the training iterations, not of the set-up."""
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')  # reset VmHWM to the current RSS
    start = _status_mib('VmRSS')
    if args.device == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    for _ in range(args.warmup + args.iters):
        bench.step(record=False)
    peak = _status_mib('VmHWM')
    out = dict(peak_rss_mib=peak, training_rss_rise_mib=peak - start)
    if args.device == 'cuda':
        out['cuda_max_allocated_mib'] = torch.cuda.max_memory_allocated() / 2**20
    return out


def measure_memory(config: str, amp: bool, args: argparse.Namespace) -> dict[str, float]:
    """:func:`peak_memory` of ``config`` in a fresh process."""
    import subprocess
    cmd = [sys.executable, osp.abspath(__file__), config, '--memory-only', '--batch',
           str(args.batch), '--iters', str(args.iters), '--warmup', str(args.warmup),
           '--device', args.device, '--data-root', args.data_root] + (['--amp'] if amp else [])
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f'memory run of {config} failed:\n{proc.stderr[-2000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    args = parse_args()
    if args.memory_only:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(peak_memory(Bench(args.config, args, tmp, args.amp), args)))
        return 0
    configs = [args.config] + ([args.vs] if args.vs else [])
    with tempfile.TemporaryDirectory() as tmp:
        try:
            benches = [Bench(c, args, osp.join(tmp, str(i)), args.amp or (i == 1 and args.vs_amp))
                       for i, c in enumerate(configs)]
        except (DataConfigError, ValueError) as err:
            print(f'error: {err} (run `make data` for the synthetic data)', file=sys.stderr)
            return 2
        for i in range(args.warmup + args.iters):
            for b in benches:
                b.step(record=i >= args.warmup)
    rows = {b.name: b.medians() for b in benches}
    for m in rows.values():
        m['train_img_s'] = args.batch / m['train']
    amp_dtype = ('bfloat16' if args.device == 'cpu' else 'float16') if (
        args.amp or args.vs_amp) else None
    result = dict(device=args.device, batch=args.batch, iters=args.iters, amp=args.amp,
                  vs_amp=args.vs_amp, amp_dtype=amp_dtype, torch_threads=torch.get_num_threads(),
                  medians_s=rows)
    names = list(rows)
    cols = ('data', 'train', 'forward', 'infer', 'infer_flip')
    print(f'median seconds per batch of {args.batch} on {args.device}, {args.iters} '
          f'iterations after {args.warmup} warm-up')
    print(f'{"config":<48}' + ''.join(f'{k:>12}' for k in cols) + f'{"train img/s":>13}')
    for name, m in rows.items():
        print(f'{name:<48}' + ''.join(f'{m[k]:>12.4f}' for k in cols)
              + f'{m["train_img_s"]:>13.1f}')
    if len(names) == 2:
        ratios = {k: rows[names[1]][k] / rows[names[0]][k]
                  for k in ('train', 'infer', 'infer_flip')}
        result['ratio'] = dict(numerator=names[1], denominator=names[0], **ratios)
        print(f'{"time ratio (second / first)":<48}{"":>12}'
              + ''.join(f'{ratios[k]:>12.3f}' for k in ('train', 'infer', 'infer_flip')))
        print(f'training speed-up of the second: {1 / ratios["train"]:.2f}x')
        augment = [h for h in benches[1].runner.hooks if hasattr(h, 'eval_images')]
        if augment:  # ASR/AHO: its extra time against the eval passes it needs
            passes = augment[0].eval_images(args.batch) / args.batch
            expected = passes * rows[names[0]]['forward']
            extra = rows[names[1]]['train'] - rows[names[0]]['train']
            result['ratio'].update(eval_passes=passes, extra_over_eval_passes=extra / expected)
            print(f'extra time {extra:.3f} s = {extra / expected:.2f} x the {passes:.2f} '
                  f'eval passes of the batch it needs ({expected:.3f} s)')
    if not args.no_memory:
        amps = [args.amp, args.amp or args.vs_amp]
        memory = {name: measure_memory(c, amp, args)
                  for name, c, amp in zip(names, configs, amps)}
        result['memory_mib'] = memory
        key = 'cuda_max_allocated_mib' if args.device == 'cuda' else 'peak_rss_mib'
        print(f'peak memory ({key}, one process per config, same iterations):')
        for name, m in memory.items():
            extra = (f' (+{m["training_rss_rise_mib"]:.0f} MiB once training starts)'
                     if args.device == 'cpu' else '')
            print(f'  {name:<46}{m[key]:>10.0f} MiB{extra}')
        if len(names) == 2:
            result['ratio']['memory'] = memory[names[1]][key] / memory[names[0]][key]
            print(f'{"memory ratio (second / first)":<48}{result["ratio"]["memory"]:>12.3f}')
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(result, f, indent=2)
    print(f'wrote {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
