"""Boundary equilibrium control of k_t (BEGAN eq. 4, HRGAN slides)."""
from __future__ import annotations

from typing import Optional

import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmpose.registry import HOOKS

from ...utils.model_wrappers import unwrap_model


def equilibrium_update(k_t: float, loss_real: float, loss_fake: float, gamma: float,
                       lambda_k: float) -> tuple[float, float]:
    """``k_{t+1} = clip(k_t + lambda_k (gamma L_real - L_fake), 0, 1)`` and the
    convergence measure ``M_global = L_real + |gamma L_real - L_fake|``."""
    balance = gamma * loss_real - loss_fake
    return min(max(k_t + lambda_k * balance, 0.0), 1.0), loss_real + abs(balance)


@HOOKS.register_module()
class BoundaryEquilibriumHook(Hook):
    """Update the model's ``k_t`` after every training iteration.

    ``L_real`` and ``L_fake`` are read from the iteration's outputs
    (``loss_real``/``loss_fake``, logged by
    :class:`AdversarialTopdownPoseEstimator`) and averaged over all ranks, so
    every rank computes the same ``k_t``.  ``k_t`` and ``M_global`` are logged
    as ``train/k_t`` and ``train/M_global`` (console, json log and any
    visualization backend).  ``k_t`` lives in the model's state dict, so
    checkpoints carry it and ``--resume`` continues it exactly.  Iterations
    without a D step (warm-up) leave ``k_t`` unchanged.

    Args:
        gamma (float): diversity ratio ``gamma = E[L_fake] / E[L_real]``
            aimed for. Defaults to 0.5 (BEGAN).
        lambda_k (float): proportional gain ``lambda_k``. Defaults to 1e-3.
    """

    priority = 'ABOVE_NORMAL'  # before LoggerHook reads the message hub

    def __init__(self, gamma: float = 0.5, lambda_k: float = 1e-3) -> None:
        if not 0.0 < gamma <= 1.0:
            raise ValueError(f'BoundaryEquilibriumHook: gamma must lie in (0, 1], got {gamma}')
        if lambda_k < 0:
            raise ValueError(f'BoundaryEquilibriumHook: lambda_k must be >= 0, got {lambda_k}')
        self.gamma = gamma
        self.lambda_k = lambda_k

    def before_train(self, runner) -> None:
        model = unwrap_model(runner.model)
        if not isinstance(getattr(model, 'k_t', None), torch.Tensor):
            raise TypeError(f'BoundaryEquilibriumHook needs a model with a `k_t` buffer '
                            f'(AdversarialTopdownPoseEstimator), got {type(model).__name__}')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if not outputs or 'loss_real' not in outputs:
            return
        model = unwrap_model(runner.model)
        losses = torch.stack([torch.as_tensor(outputs[k], dtype=torch.float64).detach().cpu()
                              for k in ('loss_real', 'loss_fake')])
        all_reduce(losses, op='mean')
        loss_real, loss_fake = losses.tolist()
        k_next, m_global = equilibrium_update(float(model.k_t), loss_real, loss_fake,
                                              self.gamma, self.lambda_k)
        model.k_t.fill_(k_next)
        runner.message_hub.update_scalar('train/k_t', k_next)
        runner.message_hub.update_scalar('train/M_global', m_global)
