"""Epoch-derived random seeds, so that ``--resume`` continues exactly."""
from __future__ import annotations

import numpy as np
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.runner import set_random_seed
from mmpose.registry import HOOKS


def epoch_seed(seed: int, epoch: int, rank: int = 0) -> int:
    """A 32-bit seed that depends on ``(seed, epoch, rank)`` only."""
    return int(np.random.SeedSequence([seed, epoch, rank]).generate_state(1)[0])


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
    persistent workers keep the random streams of the epoch they started in.

    Args:
        deterministic (bool): also switch cuDNN to deterministic mode, as
            ``randomness.deterministic`` does. Defaults to False.
    """

    priority = 'VERY_HIGH'  # before the epoch's data iterator draws its seed

    def __init__(self, deterministic: bool = False) -> None:
        self.deterministic = deterministic

    def before_train_epoch(self, runner) -> None:
        diff_rank = runner._randomness_cfg.get('diff_rank_seed', False)
        set_random_seed(epoch_seed(runner.seed, runner.epoch, get_rank() if diff_rank else 0),
                        deterministic=self.deterministic)
