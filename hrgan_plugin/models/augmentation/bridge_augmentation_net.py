"""The augmentation network of Peng et al.'s released code, over a pose
network's bridge features (fine to coarse)."""
from __future__ import annotations

from collections.abc import Sequence

import torch.nn as nn
import torch.nn.functional as F
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptMultiConfig
from torch import Tensor

from ..backbones.hru import PreActResidual
from .augmentation_net import ZERO_HEADS_INIT, DistributionHeads


@MODELS.register_module()
class BridgeAugmentationNet(DistributionHeads):
    """Predict ASR/AHO distributions from ``n`` feature maps of decreasing
    resolution, as the reference agent network (Peng et al., CVPR 2018;
    released code's ``ASN``) reads the 5 bridge features of the first
    hourglass (skips at 64, 32, 16, 8 and the 4x4 neck, 256 channels):

    - one residual unit per input (projecting to ``feat_channels``);
    - from the finest map down: max-pool to the next map's size, add that
      map's unit output, one residual unit (``n - 1`` merges);
    - ``num_deep`` residual units on the coarsest map;
    - scale and rotation logits from the globally averaged map (linear),
      occlusion logits from a 1x1 convolution of the map pooled to the grid.

    With 5 inputs of 256 channels: 12 pre-activation bottleneck units and
    2,572,047 parameters (the reference's 2,577,934 has biases in its
    convolutions). For HRNet the inputs are one stage's branches (the
    analogue of the bridge features; docs/adversarial_augmentation.md).

    Args:
        in_channels (Sequence[int]): channels of each input map.
        feat_channels (int): width of the units. Defaults to 256.
        num_deep (int): units after the last merge. Defaults to 3.
        num_scale_bins (int): m. Defaults to 7.
        num_rotation_bins (int): n. Defaults to 9.
        occlusion_grid (tuple[int, int]): ``(w, h)``. Defaults to (4, 4).
        norm_cfg (dict): normalisation layer. Defaults to ``dict(type='BN')``.
        init_cfg (dict, optional): weight init; the output layers start at
            zero so the first distributions are uniform.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 feat_channels: int = 256,
                 num_deep: int = 3,
                 num_scale_bins: int = 7,
                 num_rotation_bins: int = 9,
                 occlusion_grid: Sequence[int] = (4, 4),
                 norm_cfg: ConfigType = dict(type='BN'),
                 init_cfg: OptMultiConfig = ZERO_HEADS_INIT):
        super().__init__(feat_channels, num_scale_bins, num_rotation_bins, occlusion_grid,
                         init_cfg)
        if not in_channels:
            raise ValueError('BridgeAugmentationNet needs at least one input feature map')
        c = feat_channels
        self.inputs = nn.ModuleList([PreActResidual(ci, c, norm_cfg) for ci in in_channels])
        self.merges = nn.ModuleList([PreActResidual(c, c, norm_cfg)
                                     for _ in range(len(in_channels) - 1)])
        self.deep = nn.Sequential(*[PreActResidual(c, c, norm_cfg) for _ in range(num_deep)])

    def forward(self, feats: Sequence[Tensor]) -> dict[str, Tensor]:
        """Log-probabilities ``scale (N, m)``, ``rotation (N, n)`` and
        ``occlusion (N, w * h)`` (cells in row-major order)."""
        if len(feats) != len(self.inputs):
            raise ValueError(f'BridgeAugmentationNet expects {len(self.inputs)} feature maps, '
                             f'got {len(feats)}')
        order = sorted(range(len(feats)), key=lambda i: -feats[i].shape[-1])  # fine first
        x = self.inputs[order[0]](feats[order[0]])
        for merge, i in zip(self.merges, order[1:]):
            lateral = self.inputs[i](feats[i])
            x = merge(F.adaptive_max_pool2d(x, lateral.shape[-2:]) + lateral)
        return self.distributions(self.deep(x))
