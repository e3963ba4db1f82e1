"""The input of an image-conditioned heatmap discriminator D(C, X)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def image_conditioned_input(owner: str, heatmaps: torch.Tensor, image: torch.Tensor,
                            num_keypoints: int, stride: int, why: str) -> torch.Tensor:
    """``cat(X resized bilinearly to the heatmaps' size, C)``, ``(N, 3 + K, H, W)``.

    Checks that ``heatmaps`` has ``num_keypoints`` channels and a size
    divisible by ``stride`` (``why`` says where that stride comes from);
    errors name ``owner``."""
    _, k, h, w = heatmaps.shape
    if k != num_keypoints:
        raise ValueError(f'{owner} expects {num_keypoints} heatmap channels, got {k}')
    if h % stride or w % stride:
        raise ValueError(f'{owner}: heatmap size {h}x{w} is not divisible by {why}')
    image = F.interpolate(image, size=(h, w), mode='bilinear', align_corners=False)
    return torch.cat([image.to(heatmaps.dtype), heatmaps], dim=1)
