"""AHO's mechanism: are the cells the augmentation net would occlude the
ones that hurt the pose model most?

Each val person's feature maps are occluded on the ``k`` grid cells of
highest learned occlusion probability, the way the hook occludes them in
training (:func:`~hrgan_plugin.models.augmentation.occlusion.grid_masks` on
its ``mask_modules``), and on ``k`` random cells (several seeded draws).
The check compares the PCK drop of the two.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Callable

import torch
import torch.nn as nn
from torch import Tensor

from ...models.augmentation.distributions import sample_bins
from ...models.augmentation.occlusion import grid_masks

AHO_LEARNED = 'mech/aho_pck_drop_learned'
AHO_RANDOM = 'mech/aho_pck_drop_random'
AHO_RATIO = 'mech/aho_drop_ratio'


def top_cells(probs: Tensor, k: int) -> Tensor:
    """``(N, k)`` indices of the ``k`` most probable cells of ``(N, cells)``
    occlusion probabilities, most probable first."""
    if not 1 <= k <= probs.shape[1]:
        raise ValueError(f'k must lie in [1, {probs.shape[1]}] cells, got {k}')
    return probs.detach().cpu().topk(k, dim=1).indices


def random_cells(n: int, num_cells: int, k: int, draws: int,
                 generator: torch.Generator) -> Tensor:
    """``(draws, n, k)`` cells, ``k`` distinct ones per person and draw,
    uniform over the grid, from ``generator``."""
    uniform = torch.ones(n, num_cells)
    return torch.stack([sample_bins(uniform, k, generator) for _ in range(draws)])


def occluded_pcks(pck_fn: Callable[[Tensor], Tensor], learned: Tensor, random: Tensor,
                  grid: Sequence[int]) -> tuple[Tensor, Tensor]:
    """Per-person PCK with the ``learned`` ``(N, k)`` cells occluded, ``(N,)``,
    and with each draw of ``random`` ``(draws, N, k)`` cells, ``(draws, N)``.

    ``pck_fn`` is called once, on the masks of every variant
    ``(M, 1, h, w)`` (0 on occluded cells; ``M = (1 + draws) N``, row ``i``
    for person ``i mod N``: the learned cells, then each draw), and returns
    the per-person PCK ``(M,)`` of the pose model occluded by them."""
    n = len(learned)
    masks = grid_masks(torch.cat([learned[None], random]).flatten(0, 1), grid)
    pck = pck_fn(masks).cpu().view(-1, n)
    return pck[0], pck[1:]


def occlusion_drops(clean: Tensor, learned: Tensor, random: Tensor) -> dict[str, float]:
    """Mean PCK drop over persons with the learned cells occluded and with
    random ones (mean over draws), and learned / random (NaN when random
    cells cost nothing). ``clean`` and ``learned`` are ``(N,)`` per-person
    PCKs, ``random`` ``(draws, N)``; persons without a PCK (NaN) are left
    out."""
    drop_learned = float(torch.nanmean(clean.double() - learned.double()))
    drop_random = float(torch.nanmean(clean.double()[None] - random.double()))
    ratio = drop_learned / drop_random if drop_random != 0 else math.nan
    return {AHO_LEARNED: drop_learned, AHO_RANDOM: drop_random, AHO_RATIO: ratio}


class OcclusionCheck:
    """Accumulates per-person PCKs of the pose model clean, occluded on the
    learned cells and on random cells over val batches (:meth:`update`) and
    compares the drops (:meth:`result`).

    Args:
        net: the trained augmentation net, in eval mode.
        taps: :class:`~hrgan_plugin.engine.hooks.pose_net_taps.PoseNetTaps`
            on the pose model (its ``mask_modules`` are occluded).
        judge: the hook's per-person PCK
            (:class:`~hrgan_plugin.engine.hooks.recrop_batch.PCKJudge`).
        grid (tuple[int, int]): ``(w, h)`` of the occlusion grid.
        k (int): cells occluded per person (the hook's ``max_occluded_cells``).
        draws (int): random draws per person.
        seed (int): seed of the random cells.
    """

    def __init__(self, net: nn.Module, taps, judge, grid: Sequence[int], k: int, draws: int,
                 seed: int) -> None:
        if draws < 1:
            raise ValueError(f'draws must be >= 1, got {draws}')
        self.net, self.taps, self.judge = net, taps, judge
        self.grid, self.k, self.draws = tuple(grid), k, draws
        self.generator = torch.Generator().manual_seed(seed)
        self.clean: list[Tensor] = []
        self.learned: list[Tensor] = []
        self.random: list[Tensor] = []

    @torch.no_grad()
    def update(self, images: Tensor, keypoints: Tensor, visible: Tensor, bbox_size: Tensor,
               input_size: Sequence[int]) -> None:
        """One batch: ``images`` ``(N, C, h, w)`` (8-bit values, on the model's
        device), ground truth ``keypoints`` ``(N, K, 2)`` (input pixels),
        ``visible`` ``(N, K)`` and bbox sizes ``(N,)`` (input pixels)."""
        n = len(images)

        def pck(pred: Tensor, copies: int = 1) -> Tensor:
            return self.judge(pred, keypoints.repeat(copies, 1, 1), visible.repeat(copies, 1),
                              bbox_size.repeat(copies), input_size).cpu()

        def occluded_pck(masks: Tensor) -> Tensor:
            copies = len(masks) // n
            rows = torch.arange(len(masks), device=images.device)
            pred, _ = self.taps.predict(images.repeat(copies, 1, 1, 1),
                                        masks=(rows, masks.to(images.device)))
            return pck(pred, copies)

        clean, features = self.taps.predict(images, capture=True)
        probs = self.net(features)['occlusion'].exp()
        learned = top_cells(probs, self.k)
        random = random_cells(n, probs.shape[1], self.k, self.draws, self.generator)
        occluded, by_draw = occluded_pcks(occluded_pck, learned, random, self.grid)
        self.clean.append(pck(clean))
        self.learned.append(occluded)
        self.random.append(by_draw)

    def result(self) -> dict[str, float]:
        """:func:`occlusion_drops` over every person seen."""
        return occlusion_drops(torch.cat(self.clean), torch.cat(self.learned),
                               torch.cat(self.random, dim=1))
