"""Image-conditioned autoencoder discriminator D(C, X) over keypoint heatmaps."""
from __future__ import annotations

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmpose.models.backbones.hourglass import HourglassModule
from mmpose.models.backbones.resnet import BasicBlock
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptMultiConfig

from .conditioning import image_conditioned_input


class _HourglassModule(HourglassModule):
    """mmpose's ``HourglassModule`` with ``norm_cfg`` reaching its inner levels
    (mmpose 1.3.2 builds the nested modules with the default BN)."""

    def __init__(self, depth: int, stage_channels: list[int], stage_blocks: list[int],
                 norm_cfg: ConfigType) -> None:
        super().__init__(depth, stage_channels, stage_blocks, norm_cfg=norm_cfg)
        if depth > 1:
            self.low2 = _HourglassModule(depth - 1, stage_channels[1:], stage_blocks[1:],
                                         norm_cfg)


@MODELS.register_module()
class PoseDiscriminator(BaseModule):
    """BEGAN-style discriminator: reconstructs K heatmaps from the heatmaps
    concatenated with the image resized to heatmap resolution.

    The body follows the closest public design (Chou et al., self adversarial
    training): ``conv3x3 -> residual blocks -> hourglass -> 1x1 conv -> 1x1
    conv to K``, with mmpose's :class:`HourglassModule` (stride-2 residual
    downsampling, nearest upsampling) as the hourglass.  The output has the
    input heatmaps' shape, so ``||C - D(C, X)||^2`` is the BEGAN energy.

    Weight init: ``ConvModule`` layers use mmcv's Kaiming normal, the residual
    blocks' convolutions PyTorch's default (Kaiming uniform), BN weight 1 and
    bias 0; the last 1x1 convolution is drawn from N(0, 0.001^2) with zero
    bias, so an untrained D returns near-zero heatmaps and ``L_real`` starts
    at ``e(C, 0)``.

    Args:
        num_keypoints (int): K, heatmap channels in and out.
        image_channels (int): channels of the conditioning image. Defaults to 3.
        feat_channels (int): width of the body. Defaults to 64.
        depth (int): hourglass depth; heatmap height and width must be
            divisible by ``2 ** depth``. Defaults to 4.
        num_blocks (int): residual blocks before the hourglass and per
            hourglass level. Defaults to 1.
        norm_cfg (dict): normalisation layer. Defaults to ``dict(type='BN')``.
        init_cfg (dict | list[dict], optional): overrides the default init.
    """

    def __init__(self,
                 num_keypoints: int,
                 image_channels: int = 3,
                 feat_channels: int = 64,
                 depth: int = 4,
                 num_blocks: int = 1,
                 norm_cfg: ConfigType = dict(type='BN'),
                 init_cfg: OptMultiConfig = dict(
                     type='Normal', layer=[], override=dict(
                         name='final_layer', type='Normal', std=0.001, bias=0.0))):
        super().__init__(init_cfg=init_cfg)
        if depth < 1:
            raise ValueError(f'PoseDiscriminator: depth must be >= 1, got {depth}')
        self.num_keypoints = num_keypoints
        self.depth = depth
        self.stem = ConvModule(image_channels + num_keypoints, feat_channels, 3, padding=1,
                               norm_cfg=norm_cfg)
        self.pre_blocks = nn.Sequential(*[
            BasicBlock(feat_channels, feat_channels, norm_cfg=norm_cfg)
            for _ in range(num_blocks)
        ])
        self.hourglass = _HourglassModule(depth, [feat_channels] * (depth + 1),
                                          [num_blocks] * (depth + 1), norm_cfg)
        self.post = ConvModule(feat_channels, feat_channels, 1, norm_cfg=norm_cfg)
        self.final_layer = nn.Conv2d(feat_channels, num_keypoints, 1)

    def forward(self, heatmaps: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        """Reconstruct heatmaps.

        Args:
            heatmaps (Tensor): ``(N, K, H, W)`` real or predicted heatmaps.
            image (Tensor): ``(N, 3, H_img, W_img)`` network input; resized
                bilinearly to ``(H, W)``.

        Returns:
            Tensor: ``(N, K, H, W)`` reconstruction ``D(C, X)``.
        """
        step = 2 ** self.depth
        x = self.stem(image_conditioned_input(
            'PoseDiscriminator', heatmaps, image, self.num_keypoints, step,
            f'2**depth = {step}; lower `depth`'))
        x = self.hourglass(self.pre_blocks(x))
        return self.final_layer(self.post(x))
