"""The ASR + AHO adversarial augmenter (Peng et al., CVPR 2018) without the
training loop: distributions -> sampled transforms -> warped samples and
occlusion masks -> hardness -> reward/penalty (or pre-training) targets -> KL.

:class:`~hrgan_plugin.engine.hooks.AdversarialAugmentationHook` wires it into
mmengine's runner (feature capture, batch split, optimiser, ranks, logging).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpose.registry import MODELS
from torch import Tensor

from .distributions import (
    BoundedGaussianBins,
    aho_pretrain_targets,
    asr_pretrain_targets,
    reward_penalty_target,
    sample_bins,
)
from .geometry import (
    scale_from_exponent,
    scale_rotation_matrices,
    transform_keypoints,
    warp_images,
)
from .occlusion import grid_masks

DISTRIBUTIONS = ('scale', 'rotation', 'occlusion')
#: distribution name -> (rows of the adversarial samples it covers, target probabilities)
Targets = dict[str, tuple[slice, Tensor]]


def per_sample_loss(pred: Tensor, target: Tensor, weight: Tensor) -> Tensor:
    """Hardness of each sample ``(B,)``: keypoint-weighted heatmap MSE."""
    return ((pred.float() - target.float()).pow(2) * weight[:, :, None, None]).mean((1, 2, 3))


def scale_rotate_samples(inputs: list[Tensor], samples: list, rows: Sequence[int],
                         scale: Tensor, angle: Tensor, codec,
                         device: torch.device | str = 'cpu') -> None:
    """Scale and rotate the images ``inputs[rows]`` about their centres (in
    place, batched on ``device``) and regenerate their keypoints, heatmap
    targets and keypoint weights with ``codec`` (the model's own)."""
    if not len(rows):
        return
    h, w = inputs[rows[0]].shape[-2:]
    matrices = scale_rotation_matrices(scale, angle, (w, h))
    images = torch.stack([inputs[r] for r in rows]).to(device)
    warped = warp_images(images, matrices).round().clamp(0, 255).to(images.dtype)
    kpts = torch.stack([torch.as_tensor(np.asarray(samples[r].gt_instances.transformed_keypoints),
                                        dtype=torch.float32) for r in rows])
    moved = transform_keypoints(kpts, matrices).numpy()
    for j, r in enumerate(rows):
        inputs[r] = warped[j]
        sample = samples[r]
        visible = np.asarray(sample.gt_instances.keypoints_visible)
        encoded = codec.encode(moved[j], visible)
        sample.gt_instances.transformed_keypoints = moved[j]
        sample.gt_fields.heatmaps = torch.as_tensor(encoded['heatmaps'])
        sample.gt_instance_labels.keypoint_weights = torch.as_tensor(
            encoded['keypoint_weights'], dtype=torch.float32)


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
        scale_bins (dict): ``num``, ``range`` (exponents e, scale 2^e) and
            ``sigma``. Defaults to 7 bins over -0.6..0.6, sigma 0.05.
        rotation_bins (dict): ``num``, ``range`` (degrees), ``sigma``.
            Defaults to 9 bins over -60..60, sigma 5.
        occlusion_grid (tuple[int, int]): ``(w, h)``. Defaults to (4, 4).
        max_occluded_cells (int): AHO occludes 1..this many cells. Defaults to 2.
        alpha (float): reward rate. Defaults to 0.2.
        beta (float): penalty rate. Defaults to 0.5.
        clip (bool): clip target probabilities to ``[0, 2/k]``. Defaults to True.
    """

    def __init__(self,
                 aug_net: dict = dict(type='AugmentationNet'),
                 scale_bins: dict = dict(num=7, range=(-0.6, 0.6), sigma=0.05),
                 rotation_bins: dict = dict(num=9, range=(-60.0, 60.0), sigma=5.0),
                 occlusion_grid: Sequence[int] = (4, 4),
                 max_occluded_cells: int = 2,
                 alpha: float = 0.2,
                 beta: float = 0.5,
                 clip: bool = True) -> None:
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
        self.net: Optional[nn.Module] = None
        self.in_channels: Optional[list[int]] = None
        m, n = self.scale_bins.num, self.rotation_bins.num
        # pre-training: summed ASR pose loss and sample count per (scale, rotation) bin
        self.loss_sum = torch.zeros(m, n, dtype=torch.float64)
        self.loss_count = torch.zeros(m, n, dtype=torch.float64)

    def build_net(self, in_channels: list[int]) -> nn.Module:
        """Build the augmentation network for features of these widths."""
        self.in_channels = list(in_channels)
        self.net = MODELS.build(dict(self.aug_net_cfg, in_channels=self.in_channels))
        self.net.init_weights()
        return self.net

    def propose(self, features: list[Tensor], n_asr: int, uniform: bool,
                generator: torch.Generator) -> Proposal:
        """Predict the distributions from the (detached) features of the
        adversarial rows and draw from them (or uniformly, in pre-training):
        one scale and one rotation bin per ASR row, values from the bins'
        bounded Gaussians; 1..``max_occluded_cells`` cells per AHO row."""
        self.net.train()
        log_probs = self.net(features)
        probs = {k: v.detach().exp().cpu() for k, v in log_probs.items()}
        draw_from = {k: torch.ones_like(v) for k, v in probs.items()} if uniform else probs
        scale_idx = sample_bins(draw_from['scale'][:n_asr], generator=generator)[:, 0]
        rot_idx = sample_bins(draw_from['rotation'][:n_asr], generator=generator)[:, 0]
        scale = scale_from_exponent(self.scale_bins.sample(scale_idx, generator))
        angle = self.rotation_bins.sample(rot_idx, generator)
        cells = sample_bins(draw_from['occlusion'][n_asr:], self.max_occluded_cells, generator)
        keep = torch.randint(1, self.max_occluded_cells + 1, (len(cells), 1), generator=generator)
        cells = torch.where(torch.arange(cells.shape[1])[None] < keep, cells, -1)
        return Proposal(log_probs, probs, scale_idx, rot_idx, scale, angle, cells,
                        grid_masks(cells, self.occlusion_grid))

    def pretrain_counts(self, proposal: Proposal, asr_loss: Tensor) -> tuple[Tensor, Tensor]:
        """This batch's ASR losses summed per (scale, rotation) bin, and counts."""
        index = (proposal.scale_idx, proposal.rot_idx)
        loss_sum = torch.zeros_like(self.loss_sum).index_put_(index, asr_loss.double(),
                                                              accumulate=True)
        count = torch.zeros_like(self.loss_count).index_put_(
            index, torch.ones(proposal.n_asr, dtype=torch.float64), accumulate=True)
        return loss_sum, count

    def accumulate(self, loss_sum: Tensor, count: Tensor) -> None:
        self.loss_sum += loss_sum
        self.loss_count += count

    def pretrain_targets(self, num_rows: int, ref_samples: list) -> Targets:
        """Pre-training targets for every adversarial row: the accumulated
        dataset-level ASR targets, and each image's joint histogram over the
        occlusion grid (AHO)."""
        scale_t, rot_t = asr_pretrain_targets(self.loss_sum, self.loss_count)
        kpts = torch.stack([torch.as_tensor(np.asarray(s.gt_instances.transformed_keypoints),
                                            dtype=torch.float32)[0] for s in ref_samples])
        vis = torch.cat([s.gt_instance_labels.keypoint_weights.cpu() for s in ref_samples])
        every = slice(None)
        return dict(
            scale=(every, scale_t.float().expand(num_rows, -1)),
            rotation=(every, rot_t.float().expand(num_rows, -1)),
            occlusion=(every, aho_pretrain_targets(kpts, vis, ref_samples[0].metainfo['input_size'],
                                                   self.occlusion_grid)))

    def adversarial_targets(self, proposal: Proposal, harder: Tensor) -> Targets:
        """Reward the sampled bins/cells of samples harder than their
        reference, penalise the others (``alpha``, ``beta``, clipping)."""
        asr, aho = slice(0, proposal.n_asr), slice(proposal.n_asr, len(harder))
        probs = proposal.probs
        return dict(
            scale=(asr, reward_penalty_target(probs['scale'][asr], proposal.scale_idx,
                                              harder[asr], self.alpha, self.beta, self.clip)),
            rotation=(asr, reward_penalty_target(probs['rotation'][asr], proposal.rot_idx,
                                                 harder[asr], self.alpha, self.beta, self.clip)),
            occlusion=(aho, self._occlusion_targets(probs['occlusion'][aho], proposal.cells,
                                                    harder[aho])))

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
    def kl_loss(proposal: Proposal, targets: Targets) -> Tensor:
        """Sum over distributions of KL(target || predicted), batch mean."""
        device = next(iter(proposal.log_probs.values())).device
        return sum(F.kl_div(proposal.log_probs[k][rows], t.to(device), reduction='batchmean')
                   for k, (rows, t) in targets.items() if len(t))
