"""The ASR + AHO adversarial augmenter (Peng et al., CVPR 2018) without the
training loop: distributions -> sampled transforms and occlusion masks, and
the random references they are judged against -> reward/penalty targets -> KL.

:class:`~hrgan_plugin.engine.hooks.AdversarialAugmentationHook` wires it into
mmengine's runner (feature capture, batch split, optimiser, ranks, logging).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpose.registry import MODELS
from torch import Tensor

from .distributions import (
    BoundedGaussianBins,
    reward_penalty_target,
    sample_bins,
)
from .occlusion import grid_masks

DISTRIBUTIONS = ('scale', 'rotation', 'occlusion')
#: distribution name -> (rows of the adversarial samples it covers, target probabilities)
Targets = dict[str, tuple[slice, Tensor]]
#: the released code's random augmentation, against which adversarial samples
#: are judged: scale 2^clip(N(0, 0.25), +-0.5), rotation clip(N(0, 30), +-60)
#: applied with probability 0.4
REFERENCE_AUGMENTATION = dict(scale_sigma=0.25, scale_bound=0.5, rotation_sigma=30.0,
                              rotation_bound=60.0, rotation_prob=0.4)


def scale_from_exponent(exponent: Tensor) -> Tensor:
    """Scale factor ``2 ** e`` of the released code's scale bins."""
    return torch.pow(2.0, exponent)


@dataclass
class Proposal:
    """One batch's draws: ``n_asr`` ASR rows, then the AHO rows."""

    log_probs: dict[str, Tensor]  # per distribution, (n_asr + n_aho, bins), with gradients
    probs: dict[str, Tensor]  # the same, detached, on the CPU
    scale_idx: Tensor  # (n_asr,) sampled scale bins
    rot_idx: Tensor  # (n_asr,) sampled rotation bins
    scale: Tensor  # (n_asr,) scale factors drawn in those bins
    angle: Tensor  # (n_asr,) rotations in degrees
    cells: Tensor  # (n_aho, max_occluded_cells) occluded grid cells, -1 unused
    masks: Tensor  # (n_aho, 1, grid_h, grid_w) 0 on occluded cells, 1 elsewhere

    @property
    def n_asr(self) -> int:
        return len(self.scale_idx)


@MODELS.register_module()
class AdversarialAugmenter(nn.Module):
    """The augmentation network and what the paper does with its outputs.

    Args:
        aug_net (dict): ``AugmentationNet`` config without ``in_channels``
            (known once the pose net's features are seen, :meth:`build_net`).
            Defaults to ``dict(type='AugmentationNet')``.
        scale_bins (dict): ``num``, ``range`` (exponents e, content scale
            2^e) and ``sigma``. Defaults to 7 bins over -0.6..0.6, sigma 0.05.
        rotation_bins (dict): ``num``, ``range`` (degrees), ``sigma``.
            Defaults to 9 bins over -60..60, sigma 5 (the paper's n = 9; the
            released code's ``num=7`` gives 20-degree steps).
        occlusion_grid (tuple[int, int]): ``(w, h)``. Defaults to (4, 4).
        max_occluded_cells (int): AHO occludes 1..this many cells. Defaults to 2.
        alpha (float): reward rate. Defaults to 0.2.
        beta (float): penalty rate. Defaults to 0.5.
        clip (bool): clip target probabilities to ``[0, 2/k]``. Defaults to True.
        reference (dict): the random augmentation of the reference samples,
            keys as :data:`REFERENCE_AUGMENTATION` (its defaults).
    """

    def __init__(self,
                 aug_net: dict = dict(type='AugmentationNet'),
                 scale_bins: dict = dict(num=7, range=(-0.6, 0.6), sigma=0.05),
                 rotation_bins: dict = dict(num=9, range=(-60.0, 60.0), sigma=5.0),
                 occlusion_grid: Sequence[int] = (4, 4),
                 max_occluded_cells: int = 2,
                 alpha: float = 0.2,
                 beta: float = 0.5,
                 clip: bool = True,
                 reference: Optional[dict] = None) -> None:
        super().__init__()
        self.aug_net_cfg = dict(aug_net, num_scale_bins=scale_bins['num'],
                                num_rotation_bins=rotation_bins['num'],
                                occlusion_grid=tuple(occlusion_grid))
        self.scale_bins = BoundedGaussianBins(scale_bins['num'], scale_bins['range'],
                                              scale_bins['sigma'])
        self.rotation_bins = BoundedGaussianBins(rotation_bins['num'], rotation_bins['range'],
                                                 rotation_bins['sigma'])
        self.occlusion_grid = tuple(occlusion_grid)
        self.max_occluded_cells = max_occluded_cells
        self.alpha, self.beta, self.clip = alpha, beta, clip
        unknown = set(reference or {}) - set(REFERENCE_AUGMENTATION)
        if unknown:
            raise KeyError(f'AdversarialAugmenter.reference: unknown keys {sorted(unknown)}; '
                           f'known: {sorted(REFERENCE_AUGMENTATION)}')
        self.reference = {**REFERENCE_AUGMENTATION, **(reference or {})}
        self.net: Optional[nn.Module] = None
        self.in_channels: Optional[list[int]] = None

    def build_net(self, in_channels: list[int]) -> nn.Module:
        """Build the augmentation network for features of these widths."""
        self.in_channels = list(in_channels)
        self.net = MODELS.build(dict(self.aug_net_cfg, in_channels=self.in_channels))
        self.net.init_weights()
        return self.net

    @property
    def scale_centres(self) -> Tensor:
        """Content scale at each scale bin's centre."""
        return scale_from_exponent(self.scale_bins.centres)

    @property
    def rotation_centres(self) -> Tensor:
        """Rotation (degrees) at each rotation bin's centre."""
        return self.rotation_bins.centres

    def propose(self, features: list[Tensor], n_asr: int,
                generator: torch.Generator) -> Proposal:
        """Predict the distributions from the (detached) features of the
        adversarial rows and draw from them: one scale and one rotation bin
        per ASR row, values from the bins' bounded Gaussians;
        1..``max_occluded_cells`` cells per AHO row."""
        self.net.train()
        log_probs = self.net(features)
        probs = {k: v.detach().exp().cpu() for k, v in log_probs.items()}
        scale_idx = sample_bins(probs['scale'][:n_asr], generator=generator)[:, 0]
        rot_idx = sample_bins(probs['rotation'][:n_asr], generator=generator)[:, 0]
        scale = scale_from_exponent(self.scale_bins.sample(scale_idx, generator))
        angle = self.rotation_bins.sample(rot_idx, generator)
        cells = self.draw_cells(probs['occlusion'][n_asr:], generator)
        return Proposal(log_probs, probs, scale_idx, rot_idx, scale, angle, cells,
                        grid_masks(cells, self.occlusion_grid))

    def draw_cells(self, probs: Tensor, generator: torch.Generator) -> Tensor:
        """``(B, max_occluded_cells)`` cells drawn without replacement from
        ``(B, cells)`` probabilities, 1..max per row (unused slots -1)."""
        cells = sample_bins(probs, self.max_occluded_cells, generator)
        keep = torch.randint(1, self.max_occluded_cells + 1, (len(cells), 1), generator=generator)
        return torch.where(torch.arange(cells.shape[1])[None] < keep, cells, -1)

    def random_cells(self, n: int, generator: torch.Generator) -> Tensor:
        """Cells of a random occlusion (AHO's reference): uniform over the grid."""
        return self.draw_cells(torch.ones(n, self.occlusion_grid[0] * self.occlusion_grid[1]),
                               generator)

    def random_transforms(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """``n`` content scales and rotations (degrees) of the reference
        random augmentation (``reference``)."""
        r = self.reference
        e = (torch.randn(n, generator=generator) * r['scale_sigma']).clamp(
            -r['scale_bound'], r['scale_bound'])
        angle = (torch.randn(n, generator=generator) * r['rotation_sigma']).clamp(
            -r['rotation_bound'], r['rotation_bound'])
        rotate = torch.rand(n, generator=generator) < r['rotation_prob']
        return scale_from_exponent(e), torch.where(rotate, angle, torch.zeros_like(angle))

    def adversarial_targets(self, proposal: Proposal, harder_scale: Tensor,
                            harder_rotation: Tensor, harder_occlusion: Tensor) -> Targets:
        """Reward the sampled bins/cells of samples harder than their
        reference, penalise the others (``alpha``, ``beta``, clipping)."""
        asr, aho = slice(0, proposal.n_asr), slice(proposal.n_asr, None)
        probs = proposal.probs
        return dict(
            scale=(asr, reward_penalty_target(probs['scale'][asr], proposal.scale_idx,
                                              harder_scale, self.alpha, self.beta, self.clip)),
            rotation=(asr, reward_penalty_target(probs['rotation'][asr], proposal.rot_idx,
                                                 harder_rotation, self.alpha, self.beta,
                                                 self.clip)),
            occlusion=(aho, self._occlusion_targets(probs['occlusion'][aho], proposal.cells,
                                                    harder_occlusion)))

    def _occlusion_targets(self, probs: Tensor, cells: Tensor, harder: Tensor) -> Tensor:
        """Reward/penalty on the sampled cells (unused slots are -1)."""
        out = probs.clone()
        for c in range(cells.shape[1]):
            used = cells[:, c] >= 0
            if used.any():
                out[used] = reward_penalty_target(out[used], cells[used, c], harder[used],
                                                  self.alpha, self.beta, self.clip)
        return out

    @staticmethod
    def kl_loss(log_probs: dict[str, Tensor], targets: Targets) -> Tensor:
        """Sum over distributions of KL(target || predicted), batch mean."""
        device = next(iter(log_probs.values())).device
        return sum(F.kl_div(log_probs[k][rows], t.to(device), reduction='batchmean')
                   for k, (rows, t) in targets.items() if len(t))
