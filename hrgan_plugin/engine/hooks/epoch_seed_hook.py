"""Epoch-derived random seeds, so that ``--resume`` continues exactly."""
from __future__ import annotations

from typing import Optional

import numpy as np
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.runner import set_random_seed
from mmpose.registry import HOOKS

from ...utils.preflight import DataConfigError


class ExactResumeConfigError(DataConfigError):
    """The train loader's settings break the exact resume that
    :class:`EpochSeedHook` asks for."""


def epoch_seed(seed: int, epoch: int, rank: int = 0) -> int:
    """A 32-bit seed that depends on ``(seed, epoch, rank)`` only."""
    return int(np.random.SeedSequence([seed, epoch, rank]).generate_state(1)[0])


def exact_resume_conflict(num_workers: int, persistent_workers: bool) -> Optional[str]:
    """Why a train loader with these settings cannot resume exactly (one
    line naming the setting and the fix), or None when it can."""
    if not (persistent_workers and num_workers > 0):
        return None
    return (f'EpochSeedHook (exact --resume) needs data workers started afresh every epoch, '
            f'but train_dataloader.persistent_workers=True (num_workers={num_workers}) keeps '
            'their random streams across epochs; set train_dataloader.persistent_workers=False '
            '(or num_workers=0), or remove EpochSeedHook to give up exact resume')


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Re-seed python, numpy and torch before every training epoch from the
    run's seed and the epoch number.

    mmengine seeds the random generators once when the runner starts, so a
    run resumed at epoch ``e`` draws other random numbers (augmentations,
    data order of worker seeds, dropout) than the uninterrupted run did in
    epoch ``e``.  With this hook each epoch's randomness depends only on
    ``(seed, epoch)``, so interrupted-and-resumed training matches
    uninterrupted training (mmengine restores the run's seed from the
    checkpoint).  With data workers this needs ``persistent_workers=False``:
    persistent workers keep the random streams of the epoch they started in,
    so a resumed run's workers (fresh) draw other augmentations than the
    uninterrupted run's (continued). Training with persistent train workers
    (``num_workers > 0``) is refused before it starts, with
    :class:`ExactResumeConfigError` (``tools/train.py``: one ``error:``
    line naming ``train_dataloader.persistent_workers``).

    Args:
        deterministic (bool): also switch cuDNN to deterministic mode, as
            ``randomness.deterministic`` does. Defaults to False.
    """

    priority = 'VERY_HIGH'  # before the epoch's data iterator draws its seed

    def __init__(self, deterministic: bool = False) -> None:
        self.deterministic = deterministic

    def before_train(self, runner) -> None:
        loader = runner.train_dataloader
        problem = exact_resume_conflict(getattr(loader, 'num_workers', 0),
                                        getattr(loader, 'persistent_workers', False))
        if problem is not None:
            raise ExactResumeConfigError(problem)

    def before_train_epoch(self, runner) -> None:
        diff_rank = runner._randomness_cfg.get('diff_rank_seed', False)
        set_random_seed(epoch_seed(runner.seed, runner.epoch, get_rank() if diff_rank else 0),
                        deterministic=self.deterministic)
