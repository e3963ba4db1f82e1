"""Stacked hourglass of residual units or HRUs, with nearest or learned
(transposed-convolution) upsampling (seed 003)."""
from __future__ import annotations

from collections.abc import Callable

import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptMultiConfig
from torch import Tensor

from .hru import HourglassResidualUnit, PreActResidual, make_upsample

UnitFactory = Callable[[int, int], nn.Module]


class HRUHourglassModule(nn.Module):
    """One hourglass: ``out = up1(x) + upsample(low3(low2(low1(pool(x)))))``,
    recursing ``depth`` times; ``low2`` is the next-deeper hourglass.

    Args:
        depth (int): number of x2 downsamplings.
        channels (int): width C of every unit.
        unit (callable): ``unit(in, out)`` for the bottom-up/top-down units.
        skip_unit (callable): ``unit(in, out)`` for the skip branch ``up1``.
        upsample (str): ``'nearest'`` or ``'deconv'``.
        deconv_kernel (int): transposed-convolution kernel.
    """

    def __init__(self, depth: int, channels: int, unit: UnitFactory, skip_unit: UnitFactory,
                 upsample: str, deconv_kernel: int):
        super().__init__()
        self.up1 = skip_unit(channels, channels)
        self.pool = nn.MaxPool2d(2, 2)
        self.low1 = unit(channels, channels)
        self.low2 = (HRUHourglassModule(depth - 1, channels, unit, skip_unit, upsample,
                                        deconv_kernel) if depth > 1 else unit(channels, channels))
        self.low3 = unit(channels, channels)
        self.up2 = make_upsample(channels, upsample, deconv_kernel)

    def forward(self, x: Tensor) -> Tensor:
        return self.up1(x) + self.up2(self.low3(self.low2(self.low1(self.pool(x)))))


@MODELS.register_module()
class HRUHourglassNet(BaseModule):
    """Newell-style stacked hourglass for 256x256 inputs and 64x64 heatmaps,
    built from pre-activation residual units or Hourglass Residual Units,
    with nearest-neighbour or transposed-convolution upsampling.

    Stem: 7x7 stride-2 conv, residual (64 -> 128), 2x2 max-pool, residual,
    residual (-> ``feat_channels``).  Each stack: hourglass -> residual ->
    1x1 conv-BN-ReLU (features) -> 1x1 conv (K heatmaps).  Between stacks the
    features and the predicted heatmaps are mapped back by 1x1 convolutions
    and added to the stack's input.  The network returns the ``num_stacks``
    heatmap tensors, so ``CPMHead(num_stages=num_stacks, final_layer=None)``
    supervises every stack (intermediate supervision).

    Args:
        num_keypoints (int): K. Defaults to 16 (MPII).
        num_stacks (int): hourglasses stacked. Defaults to 8.
        feat_channels (int): width of every hourglass unit. Defaults to 256.
        depth (int): downsamplings per hourglass. Defaults to 4.
        unit (str): ``'residual'`` (pre-activation bottleneck) or ``'hru'``.
            Defaults to ``'residual'``.
        hru_placement (str): with ``unit='hru'``, ``'all'`` replaces every
            unit in the hourglasses (the seed's report) and ``'skip'`` only
            the skip-branch units (Chu et al.). Defaults to ``'all'``.
        upsample (str): ``'nearest'`` or ``'deconv'``, for the hourglass's
            bottom-up half and the HRUs' pool branches. Defaults to 'nearest'.
        deconv_kernel (int): transposed-convolution kernel (the seed used 3).
            Defaults to 3.
        norm_cfg (dict): normalisation layer. Defaults to ``dict(type='BN')``.
        init_cfg (dict | list[dict], optional): weight init config.
    """

    def __init__(self,
                 num_keypoints: int = 16,
                 num_stacks: int = 8,
                 feat_channels: int = 256,
                 depth: int = 4,
                 unit: str = 'residual',
                 hru_placement: str = 'all',
                 upsample: str = 'nearest',
                 deconv_kernel: int = 3,
                 norm_cfg: ConfigType = dict(type='BN'),
                 init_cfg: OptMultiConfig = dict(type='Normal', std=0.001, layer=['Conv2d'])):
        super().__init__(init_cfg=init_cfg)
        if unit not in ('residual', 'hru'):
            raise ValueError(f"unit must be 'residual' or 'hru', got {unit!r}")
        if hru_placement not in ('all', 'skip'):
            raise ValueError(f"hru_placement must be 'all' or 'skip', got {hru_placement!r}")
        if num_stacks < 1 or depth < 1:
            raise ValueError(f'num_stacks and depth must be >= 1, got {num_stacks}, {depth}')
        self.num_stacks = num_stacks

        def residual(cin: int, cout: int) -> nn.Module:
            return PreActResidual(cin, cout, norm_cfg)

        def hru(cin: int, cout: int) -> nn.Module:
            return HourglassResidualUnit(cin, cout, upsample, deconv_kernel, norm_cfg)

        body_unit = hru if unit == 'hru' and hru_placement == 'all' else residual
        skip_unit = hru if unit == 'hru' else residual
        c = feat_channels
        self.stem = nn.Sequential(
            ConvModule(3, 64, 7, stride=2, padding=3, norm_cfg=norm_cfg),
            residual(64, 128), nn.MaxPool2d(2, 2), residual(128, 128), residual(128, c))
        self.hourglasses = nn.ModuleList([
            HRUHourglassModule(depth, c, body_unit, skip_unit, upsample, deconv_kernel)
            for _ in range(num_stacks)])
        self.post = nn.ModuleList([
            nn.Sequential(body_unit(c, c), ConvModule(c, c, 1, norm_cfg=norm_cfg))
            for _ in range(num_stacks)])
        self.score = nn.ModuleList([nn.Conv2d(c, num_keypoints, 1) for _ in range(num_stacks)])
        self.remap_feat = nn.ModuleList([nn.Conv2d(c, c, 1) for _ in range(num_stacks - 1)])
        self.remap_score = nn.ModuleList([
            nn.Conv2d(num_keypoints, c, 1) for _ in range(num_stacks - 1)])

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        """Returns ``num_stacks`` heatmap tensors ``(N, K, H/4, W/4)``."""
        x = self.stem(x)
        outs = []
        for i in range(self.num_stacks):
            feat = self.post[i](self.hourglasses[i](x))
            score = self.score[i](feat)
            outs.append(score)
            if i < self.num_stacks - 1:
                x = x + self.remap_feat[i](feat) + self.remap_score[i](score)
        return tuple(outs)
