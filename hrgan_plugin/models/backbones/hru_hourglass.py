"""Stacked hourglass of residual units or HRUs, with nearest or learned
(transposed-convolution) upsampling (the HRU report: Brami and Chen, CS236605)."""
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
SkipFactory = Callable[[int], nn.Module]


class HRUHourglassModule(nn.Module):
    """One hourglass: ``out = up1(x) + up2(low3(low2(low1(pool(x)))))``,
    recursing ``depth`` times; ``low2`` is the next-deeper hourglass and
    ``up2`` the x2 upsampling of the bottom-up half.

    Args:
        depth (int): number of x2 downsamplings (level n of Chu et al.).
        channels (int): width C of every unit.
        unit (callable): ``unit(in, out)`` for low1, low3 and the bottom unit.
        skip (callable): ``skip(level)`` builds the skip branch ``up1``.
        upsample (str): ``'nearest'`` or ``'deconv'``.
        deconv_kernel (int): transposed-convolution kernel.
    """

    def __init__(self, depth: int, channels: int, unit: UnitFactory, skip: SkipFactory,
                 upsample: str, deconv_kernel: int):
        super().__init__()
        self.depth = depth
        self.up1 = skip(depth)
        self.pool = nn.MaxPool2d(2, 2)
        self.low1 = unit(channels, channels)
        self.low2 = (HRUHourglassModule(depth - 1, channels, unit, skip, upsample, deconv_kernel)
                     if depth > 1 else unit(channels, channels))
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

    HRU placements (``unit='hru'``):

    - ``'seed'`` reproduces the HRU report's model sizes (saved bytes / 8: 13.03M,
      24.46M, 93.07M parameters at 1, 2, 8 stacks). Those sizes are the plain
      hourglass's plus 8.28M per stack plus about 1.15M once. An HRU whose
      pool branch runs C -> C/2 -> C adds 0.59M at C = 256, so all 14 units
      of a stack (13 in the hourglass, the post-hourglass one) as such HRUs
      add 8.26M per stack; the stem's three residual units as full-width
      HRUs add 1.40M once. The sum lands within 1% of all three sizes.
    - ``'chu'``: Chu et al.'s CVPR'17 layout (``hg-attention.lua``): at
      hourglass level n > 1 the skip branch is the chain ``[residual, HRU x
      (n - 2)]`` (a single residual at level 1), full-width HRUs, every
      other unit residual: 3 HRUs per hourglass at depth 4.

    Args:
        num_keypoints (int): K. Defaults to 16 (MPII).
        num_stacks (int): hourglasses stacked. Defaults to 8.
        feat_channels (int): width C of every hourglass unit. Defaults to 256.
        depth (int): downsamplings per hourglass. Defaults to 4.
        unit (str): ``'residual'`` (pre-activation bottleneck) or ``'hru'``.
            Defaults to ``'residual'``.
        hru_placement (str): ``'seed'`` or ``'chu'`` (above); used with
            ``unit='hru'``. Defaults to ``'seed'``.
        upsample (str): the hourglass's four x2 upsamplings of the bottom-up
            half: ``'nearest'`` or ``'deconv'`` (transposed convolution,
            stride 2, the HRU report). HRU pool branches always upsample by
            nearest neighbour. Defaults to ``'nearest'``.
        deconv_kernel (int): transposed-convolution kernel (the HRU report used 3).
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
                 hru_placement: str = 'seed',
                 upsample: str = 'nearest',
                 deconv_kernel: int = 3,
                 norm_cfg: ConfigType = dict(type='BN'),
                 init_cfg: OptMultiConfig = dict(type='Normal', std=0.001, layer=['Conv2d'])):
        super().__init__(init_cfg=init_cfg)
        if unit not in ('residual', 'hru'):
            raise ValueError(f"unit must be 'residual' or 'hru', got {unit!r}")
        if hru_placement not in ('seed', 'chu'):
            raise ValueError(f"hru_placement must be 'seed' or 'chu', got {hru_placement!r}")
        if num_stacks < 1 or depth < 1:
            raise ValueError(f'num_stacks and depth must be >= 1, got {num_stacks}, {depth}')
        self.num_stacks = num_stacks
        c = feat_channels
        seed = unit == 'hru' and hru_placement == 'seed'
        chu = unit == 'hru' and hru_placement == 'chu'

        def residual(cin: int, cout: int) -> nn.Module:
            return PreActResidual(cin, cout, norm_cfg)

        def hru(cin: int, cout: int) -> nn.Module:
            return HourglassResidualUnit(cin, cout, None, norm_cfg)

        def half_hru(cin: int, cout: int) -> nn.Module:
            return HourglassResidualUnit(cin, cout, cout // 2, norm_cfg)

        def chu_skip(level: int) -> nn.Module:
            if level == 1:
                return residual(c, c)
            return nn.Sequential(residual(c, c), *[hru(c, c) for _ in range(level - 2)])

        body = half_hru if seed else residual
        stem_unit = hru if seed else residual
        skip = chu_skip if chu else (lambda level: body(c, c))
        self.stem = nn.Sequential(
            ConvModule(3, 64, 7, stride=2, padding=3, norm_cfg=norm_cfg),
            stem_unit(64, 128), nn.MaxPool2d(2, 2), stem_unit(128, 128), stem_unit(128, c))
        self.hourglasses = nn.ModuleList([
            HRUHourglassModule(depth, c, body, skip, upsample, deconv_kernel)
            for _ in range(num_stacks)])
        self.post = nn.ModuleList([
            nn.Sequential(body(c, c), ConvModule(c, c, 1, norm_cfg=norm_cfg))
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
