"""Distributions over augmentation bins: sampling, reward/penalty targets and
pre-training targets (Peng et al., CVPR 2018, Sec. 3 and Algorithm 1)."""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor


class BoundedGaussianBins:
    """``num`` bins with centres evenly spaced over ``value_range``; a value is
    drawn from its bin as ``centre + N(0, sigma^2)`` truncated to
    ``[-sigma, sigma]`` (the released code), which stays inside the bin.

    Args:
        num (int): number of bins.
        value_range (tuple[float, float]): first and last bin centre.
        sigma (float): standard deviation and truncation bound; at most half
            the distance between centres.
    """

    def __init__(self, num: int, value_range: Sequence[float], sigma: float):
        if num < 2:
            raise ValueError(f'need at least 2 bins, got {num}')
        lo, hi = value_range
        self.centres = torch.linspace(float(lo), float(hi), num)
        self.half_width = (hi - lo) / (num - 1) / 2
        if not 0 < sigma <= self.half_width + 1e-9:
            raise ValueError(f'sigma {sigma} must lie in (0, {self.half_width:g}] (half the '
                             f'bin spacing) so samples stay inside their bin')
        self.sigma = sigma

    @property
    def num(self) -> int:
        return len(self.centres)

    def bounds(self, index: Tensor) -> tuple[Tensor, Tensor]:
        """Lower and upper edge of the bins ``index``."""
        c = self.centres[index]
        return c - self.half_width, c + self.half_width

    def sample(self, index: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """One value from each bin in ``index`` (any shape)."""
        noise = torch.randn(index.shape, generator=generator) * self.sigma
        return self.centres[index] + noise.clamp(-self.sigma, self.sigma)


def sample_bins(probs: Tensor, num_samples: int = 1,
                generator: torch.Generator | None = None) -> Tensor:
    """Draw bin indices ``(B, num_samples)`` without replacement from ``(B, k)``."""
    return torch.multinomial(probs.detach().float().cpu(), num_samples, replacement=False,
                             generator=generator)


def reward_penalty_target(probs: Tensor, index: Tensor, harder: Tensor, alpha: float = 0.2,
                          beta: float = 0.5, clip: bool = True) -> Tensor:
    """Target distribution after rewarding or penalising the sampled bins.

    For each row with sampled bin ``i`` (``k`` bins):

    - harder (the adversarial sample's pose loss exceeds the reference's):
      ``P_i = P~_i + alpha P~_i``, ``P_j = P~_j - alpha P~_i / (k - 1)``;
    - otherwise: ``P_i = P~_i - beta P~_i``, ``P_j = P~_j + beta P~_i / (k - 1)``;

    then each probability is brought into ``[0, 2 / k]`` (``clip=True``, the
    released code; else only ``>= 0``) by :func:`clip_probabilities`.  Rows
    with several sampled bins (``index`` of shape ``(B, c)``) apply the rule
    once per bin, in order.

    Args:
        probs (Tensor): ``(B, k)`` predicted distributions ``P~``.
        index (Tensor): ``(B,)`` or ``(B, c)`` sampled bins.
        harder (Tensor): ``(B,)`` bool.
        alpha, beta (float): reward and penalty rates.
        clip (bool): clip to ``[0, 2 / k]``.
    """
    p = probs.detach().clone().float()
    if not len(p):
        return p
    k = p.shape[1]
    index = index.view(len(p), -1).to(p.device)
    rate = torch.where(harder.to(p.device), alpha, -beta).to(p.dtype)
    rows = torch.arange(len(p), device=p.device)
    for c in range(index.shape[1]):
        i = index[:, c]
        delta = rate * p[rows, i]
        p = p - (delta / (k - 1))[:, None]
        p[rows, i] += delta + delta / (k - 1)
    return clip_probabilities(p, 2.0 / k if clip else math.inf)


def clip_probabilities(probs: Tensor, cap: float) -> Tensor:
    """Rows of ``probs`` (summing to 1) moved into ``[0, cap]``, as the
    released code does: the mass cut above ``cap`` (or the deficit cut below
    0) is spread evenly over the bins that can still take (give) it, repeated
    until every bin is inside, so a capped bin ends at exactly ``cap``
    (needs ``cap * k >= 1``).  Each row is renormalised at the end."""
    p = probs.clone()
    for _ in range(p.shape[1]):
        gap = (p - cap).clamp_min(0).sum(1) + p.clamp_max(0).sum(1)
        if not ((p > cap) | (p < 0)).any():
            break
        p = p.clamp(0.0, cap)
        free = torch.where(gap[:, None] > 0, p < cap, p > 0)
        p = p + free * (gap / free.sum(1).clamp_min(1))[:, None]
    return p / p.sum(1, keepdim=True)


def joint_histogram(keypoints: Tensor, visible: Tensor, input_size: Sequence[int],
                    grid: Sequence[int], eps: float = 1e-3) -> Tensor:
    """The AHO pre-training target (paper: "counting all joints from all
    images"): the normalised histogram ``(w * h,)`` of the labelled joints of
    all the given people over the ``w x h`` grid (cells in row-major order),
    smoothed by ``eps`` so that no cell is impossible.

    Args:
        keypoints (Tensor): ``(N, K, 2)`` in input pixels.
        visible (Tensor): ``(N, K)``, > 0 for labelled joints.
        input_size (tuple[int, int]): ``(W, H)`` of the input.
        grid (tuple[int, int]): ``(w, h)`` cells.
    """
    (w_in, h_in), (gw, gh) = input_size, grid
    col = (keypoints[..., 0] / w_in * gw).floor().long()
    row = (keypoints[..., 1] / h_in * gh).floor().long()
    inside = (visible > 0) & (col >= 0) & (col < gw) & (row >= 0) & (row < gh)
    cell = row.clamp(0, gh - 1) * gw + col.clamp(0, gw - 1)
    hist = torch.zeros(gw * gh, dtype=torch.float64)
    hist.scatter_add_(0, cell[inside], torch.ones(int(inside.sum()), dtype=torch.float64))
    hist = hist / hist.sum().clamp_min(1) + eps
    return (hist / hist.sum()).float()


def entropy(probs: Tensor) -> Tensor:
    """Mean entropy (nats) of the rows of ``probs``."""
    return -(probs * probs.clamp_min(1e-12).log()).sum(-1).mean()
