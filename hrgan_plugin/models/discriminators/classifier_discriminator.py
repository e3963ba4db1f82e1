"""Real/fake classifier D(C, X) over keypoint heatmaps (the HRGAN slides'
conventional and channel-wise GAN ablations)."""
from __future__ import annotations

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptMultiConfig


@MODELS.register_module()
class ClassifierDiscriminator(BaseModule):
    """A heatmap discriminator body (``PoseDiscriminator``,
    ``HRNetDiscriminator``: ``(N, K, H, W)`` maps from ``(C, X)``) followed
    by global average pooling and a real/fake logit.

    - ``channel_wise=False`` (conventional GAN): a linear layer K -> 1, one
      logit per sample, ``(N, 1)``.
    - ``channel_wise=True``: one logit per joint channel, ``(N, K)`` (the
      pooled map of each channel, scaled and shifted per channel).

    Args:
        num_keypoints (int): K.
        body (dict): the body's config, built with ``num_keypoints``.
            Defaults to ``dict(type='PoseDiscriminator')``.
        channel_wise (bool): one decision per joint. Defaults to False.
        init_cfg (dict | list[dict], optional): initialisation. Defaults to None.
    """

    def __init__(self, num_keypoints: int, body: ConfigType = dict(type='PoseDiscriminator'),
                 channel_wise: bool = False, init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.num_keypoints = num_keypoints
        self.channel_wise = channel_wise
        self.body = MODELS.build(dict(body, num_keypoints=num_keypoints))
        if channel_wise:
            self.scale = nn.Parameter(torch.ones(num_keypoints))
            self.shift = nn.Parameter(torch.zeros(num_keypoints))
        else:
            self.classifier = nn.Linear(num_keypoints, 1)

    def forward(self, heatmaps: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, K)`` (channel-wise) or ``(N, 1)`` for heatmaps
        ``(N, K, H, W)`` and the network input ``(N, 3, H_img, W_img)``."""
        pooled = self.body(heatmaps, image).mean(dim=(2, 3))
        if self.channel_wise:
            return pooled * self.scale + self.shift
        return self.classifier(pooled)
