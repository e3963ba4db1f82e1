"""Run mmpose's own ``tools/train.py`` / ``tools/test.py`` with the plugin
imported and with one-line errors for the mistakes users make most."""
from __future__ import annotations

import json
import os.path as osp
import runpy
import sys

import mmpose
from mmengine.config import Config

from .checkpoint_match import CheckpointError, check_checkpoint_matches, read_checkpoint
from .errors import TrainingAborted
from .preflight import (
    DataConfigError,
    PrecisionConfigError,
    check_data_paths,
    check_mixed_precision,
    find_invalid_json,
)
from .pretrained import PretrainedWeightsUnavailable, check_pretrained_weights

_LOADERS = {
    'train': ('train_dataloader', 'val_dataloader'),
    'test': ('test_dataloader', ),
}


def mmpose_tool_path(tool: str) -> str:
    """Path of a tool script packaged with mmpose (``mmpose/.mim/tools``)."""
    path = osp.join(osp.dirname(mmpose.__file__), '.mim', 'tools', f'{tool}.py')
    if not osp.isfile(path):
        raise FileNotFoundError(f'mmpose installation has no {path}; reinstall mmpose==1.3.2')
    return path


class LauncherError(RuntimeError):
    """A ``--launcher`` that cannot start in this environment."""


def _fail(message: str) -> int:
    print(f'error: {message}', file=sys.stderr)
    return 2


def _slurm_environment() -> None:
    """Set what ``torch.distributed``'s env:// rendezvous reads from SLURM's
    task variables, as mmengine's ``_init_dist_slurm`` does: rank
    ``SLURM_PROCID`` of ``SLURM_NTASKS``, ``LOCAL_RANK`` ``SLURM_LOCALID``,
    the master on the first host of ``SLURM_NODELIST`` (unless
    ``MASTER_ADDR`` is set) at ``MASTER_PORT`` (default 29500)."""
    import os
    import subprocess
    missing = [v for v in ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST')
               if v not in os.environ]
    if missing:
        raise LauncherError(f'--launcher slurm outside a SLURM task: {", ".join(missing)} '
                            'not set (start it with srun, e.g. tools/slurm_train.sh)')
    if 'MASTER_ADDR' not in os.environ:
        hosts = subprocess.run(['scontrol', 'show', 'hostnames', os.environ['SLURM_NODELIST']],
                               capture_output=True, text=True).stdout.split()
        if not hosts:
            raise LauncherError('--launcher slurm: `scontrol show hostnames '
                                f'{os.environ["SLURM_NODELIST"]}` gave no host; set MASTER_ADDR')
        os.environ['MASTER_ADDR'] = hosts[0]
    os.environ.setdefault('MASTER_PORT', '29500')
    os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
    os.environ['RANK'] = os.environ['SLURM_PROCID']
    os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')


def _use_gloo_without_gpu(args, cfg: Config) -> None:
    """Multi-process runs on a machine without a visible GPU use gloo.

    mmengine's ``init_dist`` for the pytorch and slurm launchers always
    selects a CUDA device, and its DDP wrappers default to
    ``device_ids=[local_rank]``. With no GPU we create the gloo process
    group first (from torchrun's environment, or from SLURM's task
    variables; mmengine then uses it as it is) and wrap with
    ``device_ids=None``.
    """
    import torch
    import torch.distributed as dist
    if args.launcher not in ('pytorch', 'slurm') or torch.cuda.is_available():
        return
    if not dist.is_initialized():
        if args.launcher == 'slurm':
            _slurm_environment()
        dist.init_process_group(backend='gloo')
    options = ['model_wrapper_cfg.device_ids=None']
    if cfg.get('model_wrapper_cfg') is None:
        options += ['model_wrapper_cfg.type=MMDistributedDataParallel',
                    'model_wrapper_cfg.broadcast_buffers=False']
    sys.argv += ['--cfg-options', *options]


def _test_log_on_rank_zero(args, cfg: Config) -> None:
    """A multi-process test writes its metrics json on rank 0 alone: the
    stock ``LoggerHook`` becomes
    :class:`~hrgan_plugin.engine.hooks.RankZeroLoggerHook` (same arguments),
    whose docstring tells how every rank writing the one file corrupts it."""
    logger = cfg.get('default_hooks', {}).get('logger')
    if args.launcher == 'none' or not logger or \
            logger.get('type') not in ('LoggerHook', 'mmengine.LoggerHook'):
        return
    sys.argv += ['--cfg-options', 'default_hooks.logger.type=RankZeroLoggerHook']


def check_training_checkpoint(args, cfg: Config) -> None:
    """The checkpoint a training run starts from must be readable (not cut
    short by a crash), and for ``--resume`` fit the config exactly: mmengine
    would otherwise stop with a traceback, or silently leave weights random.
    Raises :class:`CheckpointError` naming the file and the first keys."""
    from mmengine.runner import find_latest_checkpoint
    work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.resume == 'auto':
        path, key = find_latest_checkpoint(work_dir), f'--resume ({work_dir}/last_checkpoint)'
    elif args.resume is not None:
        path, key = args.resume, '--resume'
    else:
        path, key = cfg.get('load_from'), 'load_from'
    if not path:
        return
    if not osp.isfile(path):
        raise CheckpointError(f"{key}: checkpoint '{path}' does not exist")
    state, _ = read_checkpoint(path)
    if args.resume is not None:
        from mmpose.registry import MODELS
        from mmpose.utils import register_all_modules
        register_all_modules()
        model = MODELS.build(cfg.model)  # built, not initialised: no weight download
        check_checkpoint_matches(model.state_dict(), state, path, args.config)


def run_mmpose_tool(tool: str) -> int:
    """Parse ``sys.argv`` with mmpose's parser for ``tool``, check the config's
    data paths, pretrained weights and checkpoint, then run mmpose's
    ``main()``.  Returns the process exit code."""
    module = runpy.run_path(mmpose_tool_path(tool), run_name='hrgan_plugin_tool')
    args = module['parse_args']()
    if not osp.isfile(args.config):
        return _fail(f"config file '{args.config}' does not exist")
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    loaders = _LOADERS[tool]
    if tool == 'train' and (args.no_validate or cfg.get('val_cfg') is None):
        loaders = loaders[:1]
    try:
        if tool == 'test' and not osp.isfile(args.checkpoint):
            return _fail(f"checkpoint '{args.checkpoint}' does not exist")
        if tool == 'test':
            read_checkpoint(args.checkpoint)  # a file cut short fails here, in one line
        if tool == 'train':
            check_mixed_precision(cfg)
        check_data_paths(cfg, loaders)
        if tool == 'train' and not args.resume and not cfg.get('load_from'):
            check_pretrained_weights(cfg.model)
        if tool == 'train':
            check_training_checkpoint(args, cfg)
        _use_gloo_without_gpu(args, cfg)
        if tool == 'test':
            _test_log_on_rank_zero(args, cfg)
        module['main']()
    except (DataConfigError, PrecisionConfigError, PretrainedWeightsUnavailable,
            CheckpointError, LauncherError) as err:
        return _fail(str(err))
    except json.JSONDecodeError as err:
        return _fail(find_invalid_json(cfg, loaders) or f'invalid JSON: {err}')
    except TrainingAborted as err:
        # raised in a data-loader worker, the message carries the worker's
        # traceback and ends with 'module.Class: message'
        last = [ln for ln in str(err).splitlines() if ln.strip()][-1]
        prefix = f'{type(err).__module__}.{type(err).__name__}: '
        what = 'training' if tool == 'train' else 'testing'
        print(f'{what} stopped: {last.removeprefix(prefix)}', file=sys.stderr)
        return 1
    return 0
