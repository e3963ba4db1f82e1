"""In-process parts of ``tools/gpu_check.py``: single training iterations of a
config on the synthetic data, driven as mmengine's runner drives them
(:class:`Iteration`, also used by ``gpu_check_grad.py``), and two checks made
on them:

- finite losses of an ASR/AHO iteration in each precision;
- one iteration with ``ChannelsLastHook`` (finite, NHWC activations).
"""
from __future__ import annotations

import copy
import itertools
import math
import os
import os.path as osp
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any, Optional
from unittest import mock

import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

import hrgan_plugin  # noqa: F401  (registers the plugin's modules)
from hrgan_plugin.utils.model_wrappers import unwrap_model

PRECISIONS = {'fp32': None, 'tf32': None, 'fp16': 'float16', 'bf16': 'bfloat16'}
_ids = itertools.count()


@dataclass
class Row:
    """One line of the report: ``status`` is PASS, FAIL or SKIP; ``figures``
    holds numbers (written to the JSON results), ``note`` one line."""

    check: str
    case: str
    status: str
    figures: dict = field(default_factory=dict)
    note: str = ''


def one_line(err: BaseException) -> str:
    """``Type: message`` of ``err`` on one line, at most 300 characters."""
    text = ' '.join(str(err).split())
    return f'{type(err).__name__}: {text}'[:300]


def finite_values(values: dict) -> tuple[dict[str, float], list[str]]:
    """Scalars of ``values`` (tensors or numbers) as floats, and the keys
    that are not finite."""
    out = {}
    for key, value in values.items():
        if torch.is_tensor(value) and value.numel() == 1:
            out[key] = float(value.detach().float())
        elif isinstance(value, (int, float)):
            out[key] = float(value)
    return out, [k for k, v in out.items() if not math.isfinite(v)]


def iteration_config(path: str, data_root: str, work_dir: str, batch: Optional[int] = None,
                     agent_pretrain_iters: int = 0, meters: bool = True) -> Config:
    """``path`` trained on ``data_root`` without validation, logging or
    checkpoints; an ASR/AHO hook skips pose pre-training and runs
    ``agent_pretrain_iters`` agent updates before its joint training.
    ``meters=False`` turns HRGAN's ``adv_grad_ratio`` meter off (two extra
    backward passes that leave the stepped gradients alone; the CPU dry run)."""
    cfg = Config.fromfile(path)
    loader = cfg.train_dataloader
    loader.update(num_workers=0, persistent_workers=False)
    if batch:
        loader.batch_size = batch
    loader.dataset.data_root = data_root if data_root.endswith('/') else data_root + '/'
    for key in ('val', 'test'):
        for part in ('dataloader', 'cfg', 'evaluator'):
            cfg[f'{key}_{part}'] = None
    uid = f'{os.getpid()}_{next(_ids)}'
    cfg.update(work_dir=work_dir, log_level='WARNING', experiment_name=f'gpu_check_{uid}',
               visualizer=dict(type='PoseLocalVisualizer', vis_backends=[],
                               name=f'gpu_check_vis_{uid}'))
    for key in ('checkpoint', 'logger'):
        cfg.default_hooks.pop(key, None)
    cfg.model.backbone.init_cfg = None
    if not meters and 'adv_grad_interval' in cfg.model:
        cfg.model.adv_grad_interval = 0
    for hook in cfg.get('custom_hooks', []):
        if hook.get('type') == 'AdversarialAugmentationHook':
            hook.update(pose_pretrain_epochs=0, agent_pretrain_iters=agent_pretrain_iters)
    return cfg


def amp_options(precision: str) -> dict:
    """The ``optim_wrapper`` keys a user sets for ``precision`` (mmpose's
    ``--amp`` plus ``dtype``; for HRGAN they reach both optimisers)."""
    if PRECISIONS[precision] is None:
        return {}
    return dict(type='AmpOptimWrapper', loss_scale='dynamic', dtype=PRECISIONS[precision])


@contextmanager
def amp_allowed(device: str) -> Iterator[None]:
    """Lets ``AmpOptimWrapper`` be built on the CPU (the internal dry run:
    it autocasts in bf16 there); a no-op on CUDA."""
    with ExitStack() as stack:
        if device == 'cpu':
            from mmengine.optim.optimizer import amp_optimizer_wrapper
            stack.enter_context(mock.patch.object(amp_optimizer_wrapper, 'is_cuda_available',
                                                  lambda: True))
        yield


class OutputRecorder(Hook):
    """Keeps the outputs of the last training iteration."""

    priority = 'LOWEST'

    def __init__(self) -> None:
        self.outputs: dict = {}

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self.outputs = dict(outputs or {})


class Iteration:
    """A runner prepared as ``Runner.train`` prepares it (hooks' ``before_run``,
    ``before_train``, ``before_train_epoch``), with one batch fetched."""

    def __init__(self, cfg: Config, device: str, precision: str = 'fp32') -> None:
        self.cfg, self.device = cfg, device
        self.base_optim_wrapper = copy.deepcopy(cfg.optim_wrapper)
        cfg.optim_wrapper.update(amp_options(precision))
        runner = Runner.from_cfg(cfg)
        if hasattr(unwrap_model(runner.model), 'init_weights'):  # as Runner.train does
            unwrap_model(runner.model).init_weights()
        runner.model.to(device)
        runner._train_loop = runner.build_train_loop(runner._train_loop)
        with amp_allowed(device):
            runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
        if runner.param_schedulers is not None:
            runner.param_schedulers = runner.build_param_scheduler(runner.param_schedulers)
        self.recorder = OutputRecorder()
        runner.register_hook(self.recorder)
        runner.call_hook('before_run')
        runner.optim_wrapper.initialize_count_status(runner.model, 0,
                                                     runner.train_loop.max_iters)
        runner.call_hook('before_train')
        runner.call_hook('before_train_epoch')
        self.runner = runner
        self.batch = next(iter(runner.train_loop.dataloader))

    @property
    def model(self) -> torch.nn.Module:
        return unwrap_model(self.runner.model)

    def run_iter(self) -> dict[str, float]:
        """One iteration with every hook; its outputs and the message hub's
        current scalars as floats. Raises if any is not finite."""
        self.runner.model.train()
        self.runner.train_loop.run_iter(0, self.batch)
        scalars = {k: v.current() for k, v in self.runner.message_hub.log_scalars.items()}
        values, bad = finite_values({**scalars, **self.recorder.outputs})
        if not self.recorder.outputs:
            raise RuntimeError('the iteration returned no losses')
        if bad:
            raise FloatingPointError('not finite: ' + ', '.join(
                f'{k} = {values[k]}' for k in bad))
        return values

    def fresh_wrapper(self, precision: str):
        """A new optimiser wrapper (fresh optimiser and loss-scaler state)
        of the config's ``optim_wrapper`` in ``precision``."""
        cfg = copy.deepcopy(self.base_optim_wrapper)
        cfg.update(amp_options(precision))
        with amp_allowed(self.device):
            return self.runner.build_optim_wrapper(cfg)


def refused_precision(cfg: Config, precision: str) -> str:
    """'' if ``tools/train.py`` trains ``cfg`` in ``precision``; else (bf16
    with a stock mmpose head) switch to the workaround its refusal names,
    ``model.train_cfg.compute_acc=False``, and say so."""
    try:
        from hrgan_plugin.utils.preflight import check_mixed_precision
    except ImportError:  # an older plugin: no refusal
        return ''
    probe = copy.deepcopy(cfg)
    probe.optim_wrapper.update(amp_options(precision))
    try:
        check_mixed_precision(probe)
        return ''
    except ValueError:
        cfg.merge_from_dict({'model.train_cfg.compute_acc': False})
        return ('tools/train.py refuses this config in bf16 (stock head accuracy); run with '
                'model.train_cfg.compute_acc=False')


def finite_iteration_rows(config: str, data_root: str, work_dir: str, device: str,
                          precisions: Sequence[str], batch: Optional[int], check: str,
                          agent_pretrain_iters: int = 2) -> list[Row]:
    """One iteration (with its hooks) per precision; PASS when its losses
    and logged scalars are finite."""
    rows = []
    for precision in precisions:
        try:
            cfg = iteration_config(config, data_root, osp.join(work_dir, precision), batch,
                                   agent_pretrain_iters)
            note = refused_precision(cfg, precision)
            values = Iteration(cfg, device, precision).run_iter()
            figures = {k: values.get(k, values.get(f'train/{k}'))
                       for k in ('loss_kpt', 'aug_kl', 'aug_harder')}
            rows.append(Row(check, precision, 'PASS',
                            {k: v for k, v in figures.items() if v is not None}, note))
        except Exception as err:  # noqa: BLE001
            rows.append(Row(check, precision, 'FAIL', note=one_line(err)))
    return rows


def channels_last_row(config: str, data_root: str, work_dir: str, device: str,
                      batch: Optional[int]) -> Row:
    """One iteration with the config's ``ChannelsLastHook``: finite losses
    and the backbone's output in NHWC."""
    check = 'channels_last'
    try:
        it = Iteration(iteration_config(config, data_root, work_dir, batch), device)
        hooks = [h for h in it.runner.hooks if type(h).__name__ == 'ChannelsLastHook']
        if not hooks:
            return Row(check, 'one iteration', 'FAIL', note='the config has no ChannelsLastHook')
        layout: list[bool] = []

        def record(module: torch.nn.Module, args: tuple, output: Any) -> None:
            out = output[0] if isinstance(output, (list, tuple)) else output
            layout.append(out.is_contiguous(memory_format=torch.channels_last))
        unwrap_model(it.model.backbone).register_forward_hook(record)
        values = it.run_iter()
        nhwc = bool(layout) and all(layout)
        figures = dict(loss_kpt=values.get('loss_kpt', float('nan')), nhwc=nhwc)
        if not (hooks[0].applied and nhwc):
            return Row(check, 'one iteration', 'FAIL', figures,
                       'the backbone did not run channels-last')
        return Row(check, 'one iteration', 'PASS', figures)
    except Exception as err:  # noqa: BLE001
        return Row(check, 'one iteration', 'FAIL', note=one_line(err))
