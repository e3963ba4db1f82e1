"""Residual units of the stacked hourglass: Newell's pre-activation
bottleneck and the Hourglass Residual Unit (HRU)."""
from __future__ import annotations

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_norm_layer
from mmpose.utils.typing import ConfigType
from torch import Tensor


def make_upsample(channels: int, mode: str, kernel_size: int = 3) -> nn.Module:
    """x2 upsampling: ``'nearest'`` or a learned ``'deconv'`` (transposed
    convolution with stride 2; padding chosen so the output is exactly 2x)."""
    if mode == 'nearest':
        return nn.Upsample(scale_factor=2, mode='nearest')
    if mode == 'deconv':
        padding = (kernel_size - 1) // 2
        return nn.ConvTranspose2d(channels, channels, kernel_size, stride=2, padding=padding,
                                  output_padding=2 * padding + 2 - kernel_size, bias=False)
    raise ValueError(f"upsample must be 'nearest' or 'deconv', got {mode!r}")


def _preact_conv(in_channels: int, out_channels: int, kernel_size: int,
                 norm_cfg: ConfigType) -> ConvModule:
    """BN-ReLU-conv (pre-activation order)."""
    return ConvModule(in_channels, out_channels, kernel_size, padding=kernel_size // 2,
                      norm_cfg=norm_cfg, order=('norm', 'act', 'conv'))


class PreActResidual(nn.Module):
    """Newell et al.'s residual unit: pre-activation bottleneck
    ``BN-ReLU-1x1(C/2) -> BN-ReLU-3x3(C/2) -> BN-ReLU-1x1(C)`` plus the
    identity (a 1x1 convolution when the widths differ).

    Args:
        in_channels (int): input width.
        out_channels (int): output width C.
        norm_cfg (dict): normalisation layer. Defaults to ``dict(type='BN')``.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 norm_cfg: ConfigType = dict(type='BN')):
        super().__init__()
        mid = out_channels // 2
        self.bottleneck = nn.Sequential(
            _preact_conv(in_channels, mid, 1, norm_cfg), _preact_conv(mid, mid, 3, norm_cfg),
            _preact_conv(mid, out_channels, 1, norm_cfg))
        self.skip = (nn.Identity() if in_channels == out_channels else
                     nn.Conv2d(in_channels, out_channels, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.bottleneck(x) + self.skip(x)


class HourglassResidualUnit(PreActResidual):
    """HRU: the residual unit plus a pool branch with a larger receptive
    field, summed: ``bottleneck(x) + identity(x) + up(conv3(BN-ReLU(conv3(
    maxpool(BN-ReLU(x))))))`` with nearest x2 upsampling (the HRU report, after
    Chu et al., ``ResidualPool.lua``).

    Args:
        in_channels (int): input width.
        out_channels (int): output width C.
        pool_channels (int, optional): width between the pool branch's two
            3x3 convolutions. ``None`` (Chu et al.) uses C; C/2 halves the
            branch's parameters (the HRU report's model sizes, see
            :class:`HRUHourglassNet`). Defaults to None.
        norm_cfg (dict): normalisation layer. Defaults to ``dict(type='BN')``.
    """

    def __init__(self, in_channels: int, out_channels: int, pool_channels: int | None = None,
                 norm_cfg: ConfigType = dict(type='BN')):
        super().__init__(in_channels, out_channels, norm_cfg)
        mid = out_channels if pool_channels is None else pool_channels
        self.pool_branch = nn.Sequential(
            build_norm_layer(norm_cfg, in_channels)[1], nn.ReLU(inplace=False),
            nn.MaxPool2d(2, 2, ceil_mode=True),
            nn.Conv2d(in_channels, mid, 3, padding=1),
            _preact_conv(mid, out_channels, 3, norm_cfg),
            nn.Upsample(scale_factor=2, mode='nearest'))

    def forward(self, x: Tensor) -> Tensor:
        pooled = self.pool_branch(x)
        if pooled.shape[-2:] != x.shape[-2:]:  # odd sizes: back to the input's size
            pooled = F.interpolate(pooled, size=x.shape[-2:], mode='nearest')
        return super().forward(x) + pooled
