"""Stop a diverging run before it overwrites good checkpoints."""
from __future__ import annotations

import math
from typing import Optional

from mmengine.hooks import Hook
from mmpose.registry import HOOKS

from ...utils.errors import TrainingAborted


class DivergenceError(TrainingAborted):
    """A logged loss is not finite, or left its range for too long."""


@HOOKS.register_module()
class DivergenceGuardHook(Hook):
    """Stop training when it diverges.

    After every iteration: any loss of the step's outputs (keys starting with
    ``loss``) that is NaN or infinite stops training at once; so does a
    non-finite value of a key of ``limits`` (a step output, or a scalar other
    hooks logged this iteration, e.g. ``k_t``, ``aug_kl``), and one that
    stays outside its ``(low, high)`` range (``None``: unbounded) for
    ``patience`` consecutive iterations. Stopping
    raises :class:`DivergenceError` naming the iteration, the key and its
    value (``tools/train.py`` prints it as one line and exits 1). It runs
    before any checkpoint of that iteration is written, so the newest
    checkpoint and ``last_checkpoint`` remain the last good ones, and
    ``--resume`` continues from them.

    Args:
        limits (dict[str, tuple], optional): ``key -> (low, high)``. Defaults
            to None (non-finite losses only).
        patience (int): consecutive out-of-range iterations that stop
            training. Defaults to 100.
    """

    priority = 'BELOW_NORMAL'  # after the hooks that log k_t / aug_* this iteration

    def __init__(self, limits: Optional[dict] = None, patience: int = 100) -> None:
        if patience < 1:
            raise ValueError(f'DivergenceGuardHook: patience must be >= 1, got {patience}')
        self.limits = {k: tuple(v) for k, v in (limits or {}).items()}
        for key, bounds in self.limits.items():
            if len(bounds) != 2:
                raise ValueError(f'DivergenceGuardHook: limits[{key!r}] must be (low, high), '
                                 f'got {bounds}')
        self.patience = patience
        self.outside = {k: 0 for k in self.limits}

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        values = {k: float(v) for k, v in (outputs or {}).items()}
        iteration = runner.iter + 1
        for key, value in values.items():
            if key.startswith('loss') and not math.isfinite(value):
                raise DivergenceError(f'iteration {iteration}: {key} = {value}')
        scalars = runner.message_hub.log_scalars
        for key, (low, high) in self.limits.items():
            if key in values:
                value = values[key]
            elif f'train/{key}' in scalars:
                value = float(scalars[f'train/{key}'].current())
            else:
                continue
            if not math.isfinite(value):
                raise DivergenceError(f'iteration {iteration}: {key} = {value}')
            out = (low is not None and value < low) or (high is not None and value > high)
            self.outside[key] = self.outside[key] + 1 if out else 0
            if self.outside[key] >= self.patience:
                raise DivergenceError(
                    f'iteration {iteration}: {key} = {value:.6g} outside [{low}, {high}] for '
                    f'{self.patience} iterations')
