"""HRNet as a BEGAN autoencoder discriminator D(C, X) (the HRGAN reference D)."""
from __future__ import annotations

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmpose.models.backbones import HRNet
from mmpose.models.backbones.resnet import get_expansion
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptMultiConfig

from .conditioning import image_conditioned_input

# HRNet-W32 (mmpose's td-hm_hrnet-w32 backbone), the reference D's body.
HRNET_W32_EXTRA = dict(
    stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(4, ),
                num_channels=(64, )),
    stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(4, 4),
                num_channels=(32, 64)),
    stage3=dict(num_modules=4, num_branches=3, block='BASIC', num_blocks=(4, 4, 4),
                num_channels=(32, 64, 128)),
    stage4=dict(num_modules=3, num_branches=4, block='BASIC', num_blocks=(4, 4, 4, 4),
                num_channels=(32, 64, 128, 256)))


class _StemlessHRNet(HRNet):
    """mmpose's :class:`HRNet` without the stride-2 stem: ``layer1`` reads
    the input directly, so the network runs at the input's resolution."""

    def __init__(self, extra: dict, in_channels: int, norm_cfg: ConfigType) -> None:
        # init_cfg=None: PyTorch's default initialisation, as the reference D
        # (HRNet's own default would draw every convolution from N(0, 0.001^2))
        super().__init__(extra, in_channels=in_channels, norm_cfg=norm_cfg, init_cfg=None)
        # the stem (conv1, norm1, conv2, norm2 and its ReLU) becomes the identity
        for name in ('conv1', 'conv2', self.norm1_name, self.norm2_name, 'relu'):
            setattr(self, name, nn.Identity())
        stage1 = self.stage1_cfg
        block = self.blocks_dict[stage1['block']]
        out_channels = stage1['num_channels'][0] * get_expansion(block)
        self.layer1 = self._make_layer(block, in_channels, out_channels,
                                       stage1['num_blocks'][0])


@MODELS.register_module()
class HRNetDiscriminator(BaseModule):
    """HRGAN's reference discriminator: HRNet-W32 without its stem on
    ``cat(X resized to the heatmap size, C)`` (K+3 channels), at heatmap
    resolution, then a 1x1 convolution of the highest-resolution branch to K
    channels.  ``||C - D(C, X)||^2`` is the BEGAN energy.

    Built from mmpose's :class:`HRNet` (stages 2-4, transitions and fusion
    unchanged; ``layer1`` = 4 Bottlenecks from K+3 to 256 channels). With the
    default W32 ``extra`` it has 28,482,832 parameters for K=16 and
    28,483,185 for K=17, as the reference's ``HRDisNet``. Initialisation is
    PyTorch's default, as the reference (no ``init_cfg``).

    Args:
        num_keypoints (int): K, heatmap channels in and out.
        image_channels (int): channels of the conditioning image. Defaults to 3.
        extra (dict): mmpose HRNet ``extra`` (stages 1-4). Defaults to W32.
            Heatmap height and width must be divisible by ``2 ** (branches - 1)``.
        norm_cfg (dict): normalisation layer. Defaults to ``dict(type='BN')``.
        init_cfg (dict | list[dict], optional): initialisation. Defaults to None.
    """

    def __init__(self,
                 num_keypoints: int,
                 image_channels: int = 3,
                 extra: dict = HRNET_W32_EXTRA,
                 norm_cfg: ConfigType = dict(type='BN'),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.num_keypoints = num_keypoints
        extra = dict(extra)
        extra['stage4'] = dict(extra['stage4'], multiscale_output=False)
        self.body = _StemlessHRNet(extra, image_channels + num_keypoints, norm_cfg)
        self.min_stride = 2 ** (extra['stage4']['num_branches'] - 1)
        self.final_layer = nn.Conv2d(extra['stage4']['num_channels'][0], num_keypoints, 1)

    def forward(self, heatmaps: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        """Reconstruct heatmaps.

        Args:
            heatmaps (Tensor): ``(N, K, H, W)`` real or predicted heatmaps.
            image (Tensor): ``(N, 3, H_img, W_img)`` network input; resized
                bilinearly to ``(H, W)``.

        Returns:
            Tensor: ``(N, K, H, W)`` reconstruction ``D(C, X)``.
        """
        x = image_conditioned_input('HRNetDiscriminator', heatmaps, image, self.num_keypoints,
                                    self.min_stride,
                                    f'{self.min_stride} (its lowest-resolution branch)')
        return self.final_layer(self.body(x)[0])
