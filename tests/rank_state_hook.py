"""A hook for multi-process tests that train through ``tools/train.py``
(imported by a config's ``custom_imports``, with ``tests/`` on PYTHONPATH).

Each rank writes its PID to ``WORK_DIR/rank{R}.pid`` when training starts
and, when it ends, ``WORK_DIR/rank{R}.pth``: its model state (DDP-wrapped
children unwrapped), its local losses per iteration, the world size and the backend.
With ``fail_rank`` that rank raises after ``fail_after`` iterations.
"""
from __future__ import annotations

import os
import os.path as osp
from typing import Optional

import torch
from mmengine.dist import get_rank, get_world_size
from mmengine.hooks import Hook
from mmpose.registry import HOOKS

from hrgan_plugin.utils.model_wrappers import unwrap_model


@HOOKS.register_module()
class RankStateHook(Hook):
    priority = 'LOWEST'

    def __init__(self, fail_rank: Optional[int] = None, fail_after: int = 1) -> None:
        self.fail_rank, self.fail_after = fail_rank, fail_after
        self.losses: list[dict] = []

    def before_train(self, runner) -> None:
        with open(osp.join(runner.work_dir, f'rank{get_rank()}.pid'), 'w') as f:
            f.write(str(os.getpid()))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self.losses.append({k: float(v) for k, v in (outputs or {}).items()})
        if get_rank() == self.fail_rank and runner.iter + 1 >= self.fail_after:
            raise RuntimeError(f'rank {get_rank()} fails on purpose after iteration '
                               f'{runner.iter + 1}')

    def after_train(self, runner) -> None:
        model = unwrap_model(runner.model)
        state = {k.replace('.module.', '.'): v.detach().cpu().clone()
                 for k, v in model.state_dict().items()}
        torch.save(dict(state=state, losses=self.losses, world_size=get_world_size(),
                        backend=torch.distributed.get_backend()),
                   osp.join(runner.work_dir, f'rank{get_rank()}.pth'))
