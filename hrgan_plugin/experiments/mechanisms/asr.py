"""ASR's mechanism: does the augmentation net put its mass where the pose
model is weakest?

Each val person is re-cropped at every scale-bin centre (rotation 0) and
every rotation-bin centre (scale 1) with the training re-crop path
(:class:`~hrgan_plugin.engine.hooks.recrop_batch.RecropBatch`,
:class:`~hrgan_plugin.models.augmentation.ContextWarp`) and judged by the
hook's per-person PCK; a bin's difficulty is ``1 - PCK`` averaged over
persons. The check is Spearman's rank correlation between the augmentation
net's bin probabilities (averaged over persons) and those difficulties.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn as nn
from scipy.stats import spearmanr
from torch import Tensor

from ...engine.hooks.recrop_batch import RecropBatch
from ...models.augmentation.context_warp import ContextWarp

#: distribution -> key written by :func:`asr_rank_correlations`
ASR_KEYS = {'scale': 'mech/asr_scale_rank_corr', 'rotation': 'mech/asr_rotation_rank_corr'}


def spearman(x: Tensor, y: Tensor) -> float:
    """Spearman's rank correlation of two ``(k,)`` vectors (ties get their
    mean rank); NaN when either is constant or holds a NaN."""
    x, y = x.detach().double().cpu(), y.detach().double().cpu()
    if len(x) != len(y):
        raise ValueError(f'spearman: vectors of lengths {len(x)} and {len(y)}')
    if (len(x) < 2 or torch.isnan(x).any() or torch.isnan(y).any()
            or bool((x == x[0]).all()) or bool((y == y[0]).all())):
        return math.nan
    return float(spearmanr(x.numpy(), y.numpy())[0])


def bin_difficulty(pck: Tensor) -> Tensor:
    """``(bins,)`` difficulty ``1 - PCK`` of each bin from per-person PCKs
    ``(bins, N)``, averaged over the persons that have one (NaN PCKs, people
    with no joint to count, are left out)."""
    return 1.0 - torch.nanmean(pck.double(), dim=1)


def asr_rank_correlations(probs: dict[str, Tensor], pck: dict[str, Tensor]) -> dict[str, float]:
    """Per distribution in ``pck`` (``'scale'``, ``'rotation'``): Spearman's
    correlation between the mean of the probabilities ``(N, bins)`` over
    persons and the bins' difficulty from per-person PCKs ``(bins, N)``."""
    return {ASR_KEYS[name]: spearman(probs[name].double().mean(0), bin_difficulty(pck[name]))
            for name in pck}


def bin_centre_pcks(ctx: RecropBatch, warp: ContextWarp, scales: Tensor, angles: Tensor,
                    predict: Callable[[Tensor], Tensor], judge: Callable[..., Tensor]) -> Tensor:
    """Per-person PCK ``(bins, N)`` of the ``N`` persons of ``ctx`` re-cropped
    at ``(bins,)`` content scales and rotations (degrees), as the hook's
    agent pre-training measures it: the crops warped in one batch,
    ``predict`` giving heatmap maxima ``(M, K, 2)`` of ``(M, C, h, w)``
    crops, ``judge`` (a :class:`~hrgan_plugin.engine.hooks.recrop_batch.PCKJudge`)
    scoring them against the re-crops' ground truth."""
    n, bins = len(ctx), len(scales)
    scale = scales[:, None].expand(-1, n)  # bin-major
    angle = angles[:, None].expand(-1, n)
    crops = ctx.crops(warp, scale, angle).flatten(0, 1)
    truth = [ctx.truth(warp, s, a) for s, a in zip(scale, angle)]
    kpts, vis, size = (torch.cat(t) for t in zip(*truth))
    pck = judge(predict(crops), kpts, vis, size, warp.input_size)
    return pck.view(bins, n).cpu()


class RankCorrelationCheck:
    """Accumulates the augmentation net's scale and rotation probabilities
    and the per-bin PCKs over val batches (:meth:`update`) and correlates
    them (:meth:`result`).

    Args:
        net: the trained augmentation net, in eval mode.
        taps: :class:`~hrgan_plugin.engine.hooks.pose_net_taps.PoseNetTaps`
            on the pose model (features the net reads, frozen predictions).
        warp (ContextWarp): the re-crop geometry of the val contexts.
        judge: the hook's per-person PCK
            (:class:`~hrgan_plugin.engine.hooks.recrop_batch.PCKJudge`).
        augmenter: the hook's
            :class:`~hrgan_plugin.models.augmentation.AdversarialAugmenter`
            (bin centres).
    """

    def __init__(self, net: nn.Module, taps, warp: ContextWarp, judge, augmenter) -> None:
        self.net, self.taps, self.warp, self.judge = net, taps, warp, judge
        self.augmenter = augmenter
        self.probs: dict[str, list[Tensor]] = {k: [] for k in ASR_KEYS}
        self.pck: dict[str, list[Tensor]] = {k: [] for k in ASR_KEYS}

    def _predict(self, crops: Tensor) -> Tensor:
        return self.taps.predict(crops)[0]

    @torch.no_grad()
    def update(self, ctx: RecropBatch) -> None:
        """One batch of val persons' re-crop contexts."""
        aug, n = self.augmenter, len(ctx)
        canonical = ctx.crops(self.warp, torch.ones(n), torch.zeros(n))
        _, features = self.taps.predict(canonical, capture=True)
        log_probs = self.net(features)
        for name in ASR_KEYS:
            self.probs[name].append(log_probs[name].exp().cpu())
        m, r = aug.scale_bins.num, aug.rotation_bins.num
        scales = torch.cat([aug.scale_centres, torch.ones(r)])  # scale bins, then rotation bins
        angles = torch.cat([torch.zeros(m), aug.rotation_centres])
        pck = bin_centre_pcks(ctx, self.warp, scales, angles, self._predict, self.judge)
        self.pck['scale'].append(pck[:m])
        self.pck['rotation'].append(pck[m:])

    def result(self) -> dict[str, float]:
        """:func:`asr_rank_correlations` over every person seen."""
        return asr_rank_correlations({k: torch.cat(v) for k, v in self.probs.items()},
                                     {k: torch.cat(v, dim=1) for k, v in self.pck.items()})
