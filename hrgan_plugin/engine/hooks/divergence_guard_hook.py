"""Stop a diverging run before it overwrites good checkpoints."""
from __future__ import annotations

import math
from typing import Optional

import torch
from mmengine.dist import all_reduce, get_comm_device, get_world_size
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
    ``--resume`` continues from them. In a distributed run the values are
    averaged over the ranks first (one ``all_reduce`` on the communication
    device per iteration; a NaN on one rank makes the mean NaN), so every
    rank stops at the same iteration with the same line, which then ends in
    ``(mean over N ranks)``.

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
        iteration = runner.iter + 1
        values, ranks = self._rank_means(runner, outputs or {})
        suffix = f' (mean over {ranks} ranks)' if ranks > 1 else ''
        for key, value in values.items():
            if key.startswith('loss') and not math.isfinite(value):
                raise DivergenceError(f'iteration {iteration}: {key} = {value}{suffix}')
        for key, (low, high) in self.limits.items():
            if key not in values:
                continue
            value = values[key]
            if not math.isfinite(value):
                raise DivergenceError(f'iteration {iteration}: {key} = {value}{suffix}')
            out = (low is not None and value < low) or (high is not None and value > high)
            self.outside[key] = self.outside[key] + 1 if out else 0
            if self.outside[key] >= self.patience:
                raise DivergenceError(
                    f'iteration {iteration}: {key} = {value:.6g}{suffix} outside '
                    f'[{low}, {high}] for {self.patience} iterations')

    def _rank_means(self, runner, outputs: dict) -> tuple[dict, int]:
        """The watched values (the step's losses, then the ``limits`` keys
        from the step's outputs or this iteration's logged scalars) averaged
        over the ranks, and the number of ranks.

        Every rank then decides on the same numbers, so all ranks stop
        together with the same line (a rank that stopped alone would leave
        the others waiting in their next collective until NCCL's timeout). A
        non-finite value on any rank makes the mean non-finite. One
        ``all_reduce`` on the communication device per iteration; the loss
        keys are the model's, the same on every rank.
        """
        losses = [k for k in outputs if k.startswith('loss')]
        scalars = runner.message_hub.log_scalars
        local: dict = {k: float(outputs[k]) for k in losses}
        for key in self.limits:
            if key in outputs:
                local[key] = float(outputs[key])
            elif f'train/{key}' in scalars:
                local[key] = float(scalars[f'train/{key}'].current())
        ranks = get_world_size()
        if ranks == 1:
            return local, 1
        # per key: (sum of values, number of ranks that have it); limits keys
        # a rank has not logged this iteration count on the others only
        keys = losses + [k for k in self.limits if k not in losses]
        pairs = [(local[k], 1.0) if k in local else (0.0, 0.0) for k in keys]
        total = torch.tensor(pairs, dtype=torch.float64, device=get_comm_device()).reshape(-1, 2)
        all_reduce(total, op='sum')
        summed = total.cpu().tolist()
        return {k: s / n for k, (s, n) in zip(keys, summed) if n > 0}, ranks
