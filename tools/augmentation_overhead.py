"""Where the time of an ASR/AHO training iteration goes: the runner's
``train_step``, the augmentation hook's ``before_train_iter`` and, inside
the hook, the pose net's no-grad passes (``hook_pose_net``) and the
augmentation net's forward, backward and step (``hook_agent_net``). The
rest (``hook_cpu``: gathering contexts or decoding images, crops, targets,
sampling, PCK) is what stays on the training thread's CPU when the nets run
on a GPU; ``hook_other`` is everything but the pose-net passes.

    python tools/augmentation_overhead.py \
        configs/quickstart/hrnet_asr-aho_synthetic-mpii_128x128.py --batch 32 --iters 5

Runs joint training (stages 1 and 2 skipped) on the synthetic data set
(``make data``) with the config's own pipeline and loader workers; prints a
JSON line of mean seconds per iteration.
"""
from __future__ import annotations

import argparse
import json
import os.path as osp
import statistics
import tempfile
import time

from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

import hrgan_plugin  # noqa: F401  (registers the plugin's modules)
from hrgan_plugin.utils.model_wrappers import unwrap_model


class Stopwatch(Hook):
    """Times the augmentation hook's ``before_train_iter``, the pose net's
    forward passes inside it, and the model's ``train_step``."""

    priority = 'LOWEST'

    def __init__(self) -> None:
        self.records: list[dict] = []
        self._inside = False
        self._forward = 0.0

    def before_train(self, runner) -> None:
        [hook] = [h for h in runner.hooks if type(h).__name__ == 'AdversarialAugmentationHook']
        model = unwrap_model(runner.model)
        start = {}
        for name, module in (('backbone', model.backbone), ('head', model.head)):
            module.register_forward_pre_hook(
                lambda m, a, name=name: start.__setitem__(name, time.perf_counter()))
            module.register_forward_hook(lambda m, a, o, name=name: self._add(
                time.perf_counter() - start[name]))
        hook.before_train_iter = self._timed(hook.before_train_iter, 'hook', inside=True)
        hook.augmenter.propose = self._timed(hook.augmenter.propose, 'propose')
        hook._update = self._timed(hook._update, 'update')
        cls = type(unwrap_model(runner.model))  # on the class: a hook may reset the instance's
        cls.train_step = self._timed(cls.train_step, 'train_step')

    def _add(self, seconds: float) -> None:
        if self._inside:
            self._forward += seconds

    def _timed(self, fn, key: str, inside: bool = False):
        def timed(*args, **kwargs):
            if inside:
                self._inside, self._forward = True, 0.0
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self._record(key, time.perf_counter() - t0)
                if inside:
                    self._inside = False
                    self._record('hook_pose_net', self._forward)
        return timed

    def _record(self, key: str, seconds: float) -> None:
        if not self.records or key in self.records[-1]:
            self.records.append({})
        self.records[-1][key] = seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--batch', type=int, default=32)
    parser.add_argument('--iters', type=int, default=5, help='timed iterations')
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--data-root', default='data/synthetic/')
    args = parser.parse_args()

    cfg = Config.fromfile(args.config)
    cfg.work_dir = tempfile.mkdtemp()
    cfg.log_level = 'WARNING'
    n = args.warmup + args.iters
    cfg.train_dataloader.update(batch_size=args.batch, num_workers=args.workers,
                                persistent_workers=False)
    ann = 'annotations/mpii_train.json' if 'Mpii' in cfg.train_dataloader.dataset.type else \
        'annotations/coco_train.json'
    cfg.train_dataloader.dataset.update(data_root=args.data_root, ann_file=ann,
                                        data_prefix=dict(img='images/train/'),
                                        indices=n * args.batch)
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=100)
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.test_dataloader = cfg.test_evaluator = cfg.test_cfg = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1)
    cfg.model.backbone.pop('init_cfg', None)
    for hook in cfg.custom_hooks:
        if hook['type'] == 'AdversarialAugmentationHook':
            hook.update(pose_pretrain_epochs=0, agent_pretrain_iters=0)
    stopwatch = Stopwatch()
    cfg.custom_hooks = [h for h in cfg.custom_hooks if h['type'] not in
                        ('DivergenceGuardHook', 'TrainingCurveHook')]
    runner = Runner.from_cfg(cfg)
    runner.register_hook(stopwatch)
    runner.train()
    timed = stopwatch.records[args.warmup:]
    mean = {k: statistics.mean(r[k] for r in timed) for k in timed[0]}
    mean['hook_other'] = mean['hook'] - mean['hook_pose_net']
    mean['hook_agent_net'] = mean.pop('propose') + mean.pop('update')
    mean['hook_cpu'] = mean['hook_other'] - mean['hook_agent_net']
    print(json.dumps(dict(config=osp.basename(args.config), batch=args.batch,
                          iters=len(timed), plugin=osp.dirname(hrgan_plugin.__file__),
                          seconds=mean)))


if __name__ == '__main__':
    main()
