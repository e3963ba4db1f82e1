"""The augmentation network G_aug of adversarial data augmentation."""
from __future__ import annotations

from collections.abc import Sequence

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptMultiConfig
from torch import Tensor

#: output layers start at zero, so the first distributions are uniform
ZERO_HEADS_INIT = dict(type='Constant', val=0.0, layer=[],
                       override=[dict(name='scale_head', type='Constant', val=0.0),
                                 dict(name='rotation_head', type='Constant', val=0.0),
                                 dict(name='occlusion_head', type='Constant', val=0.0)])


class DistributionHeads(BaseModule):
    """The output of an augmentation network: scale and rotation logits from
    the globally pooled map (linear), occlusion logits from a 1x1 convolution
    of the map pooled to the ``w x h`` grid, as log-probabilities."""

    def __init__(self, channels: int, num_scale_bins: int, num_rotation_bins: int,
                 occlusion_grid: Sequence[int], init_cfg: OptMultiConfig) -> None:
        super().__init__(init_cfg=init_cfg)
        self.occlusion_grid = tuple(occlusion_grid)
        self.scale_head = nn.Linear(channels, num_scale_bins)
        self.rotation_head = nn.Linear(channels, num_rotation_bins)
        self.occlusion_head = nn.Conv2d(channels, 1, 1)

    def distributions(self, x: Tensor) -> dict[str, Tensor]:
        """``scale (N, m)``, ``rotation (N, n)`` and ``occlusion (N, w * h)``
        (cells in row-major order) log-probabilities from the map ``x``."""
        pooled = x.mean((2, 3))
        gw, gh = self.occlusion_grid
        occ = self.occlusion_head(F.adaptive_avg_pool2d(x, (gh, gw))).flatten(1)
        return dict(scale=F.log_softmax(self.scale_head(pooled), -1),
                    rotation=F.log_softmax(self.rotation_head(pooled), -1),
                    occlusion=F.log_softmax(occ, -1))


@MODELS.register_module()
class AugmentationNet(DistributionHeads):
    """Predict augmentation distributions from the pose network's features
    (Peng et al., CVPR 2018): ``m`` scale bins, ``n`` rotation bins (ASR)
    and a ``w x h`` occlusion grid (AHO).

    The features (detached by the caller) are projected to ``feat_channels``
    by 1x1 convolutions and fused coarse to fine (upsample the coarser map,
    add, 3x3 conv).  Scale and rotation logits come from the globally pooled
    fused map; occlusion logits from the map pooled to the ``h x w`` grid.

    Args:
        in_channels (Sequence[int]): channels of each input feature map.
        feat_channels (int): fusion width. Defaults to 64.
        num_scale_bins (int): m. Defaults to 7.
        num_rotation_bins (int): n. Defaults to 9.
        occlusion_grid (tuple[int, int]): ``(w, h)``. Defaults to (4, 4).
        norm_cfg (dict): normalisation layer. Defaults to ``dict(type='BN')``.
        init_cfg (dict, optional): weight init; the output layers start at
            zero so the first distributions are uniform.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 feat_channels: int = 64,
                 num_scale_bins: int = 7,
                 num_rotation_bins: int = 9,
                 occlusion_grid: Sequence[int] = (4, 4),
                 norm_cfg: ConfigType = dict(type='BN'),
                 init_cfg: OptMultiConfig = ZERO_HEADS_INIT):
        super().__init__(feat_channels, num_scale_bins, num_rotation_bins, occlusion_grid,
                         init_cfg)
        if not in_channels:
            raise ValueError('AugmentationNet needs at least one input feature map')
        self.lateral = nn.ModuleList([nn.Conv2d(c, feat_channels, 1) for c in in_channels])
        self.fuse = ConvModule(feat_channels, feat_channels, 3, padding=1, norm_cfg=norm_cfg)

    def forward(self, feats: Sequence[Tensor]) -> dict[str, Tensor]:
        """Log-probabilities ``scale (N, m)``, ``rotation (N, n)`` and
        ``occlusion (N, w * h)`` (cells in row-major order)."""
        if len(feats) != len(self.lateral):
            raise ValueError(f'AugmentationNet expects {len(self.lateral)} feature maps, '
                             f'got {len(feats)}')
        order = sorted(range(len(feats)), key=lambda i: feats[i].shape[-1])  # coarse first
        x = None
        for i in order:
            lat = self.lateral[i](feats[i])
            x = lat if x is None else lat + F.interpolate(
                x, size=lat.shape[-2:], mode='bilinear', align_corners=False)
        return self.distributions(self.fuse(x))

