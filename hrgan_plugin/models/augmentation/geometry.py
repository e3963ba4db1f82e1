"""Scaling and rotation of whole input images and their keypoints (ASR),
batched with ``affine_grid``/``grid_sample``."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def scale_rotation_matrices(scale: Tensor, angle_deg: Tensor, size: tuple[int, int]) -> Tensor:
    """``(B, 3, 3)`` pixel-space maps ``p -> c + s R(theta) (p - c)`` about the
    image centre ``c`` of ``size = (W, H)``; ``theta`` counter-clockwise on
    screen (image y points down), as mmpose's rotation augmentation."""
    w, h = size
    c = torch.tensor([(w - 1) / 2, (h - 1) / 2])
    t = torch.deg2rad(angle_deg.float())
    cos, sin = torch.cos(t) * scale, torch.sin(t) * scale
    m = torch.zeros(len(scale), 3, 3)
    m[:, 0, 0], m[:, 0, 1] = cos, sin
    m[:, 1, 0], m[:, 1, 1] = -sin, cos
    m[:, :2, 2] = c - (m[:, :2, :2] @ c)
    m[:, 2, 2] = 1.0
    return m


def transform_keypoints(keypoints: Tensor, matrices: Tensor) -> Tensor:
    """Apply ``(B, 3, 3)`` maps to ``(B, N, K, 2)`` or ``(B, K, 2)`` keypoints."""
    flat = keypoints.reshape(len(keypoints), -1, 2).float()
    out = flat @ matrices[:, :2, :2].transpose(1, 2) + matrices[:, None, :2, 2]
    return out.reshape(keypoints.shape)


def warp_images(images: Tensor, matrices: Tensor) -> Tensor:
    """Warp ``(B, C, H, W)`` images so that the pixel at ``p`` moves to
    ``M p``; the area from outside the image is filled with zeros."""
    b, _, h, w = images.shape
    # pixel -> normalised coordinates (align_corners=False): x_n = (2x + 1) / W - 1
    to_norm = torch.tensor([[2 / w, 0, 1 / w - 1], [0, 2 / h, 1 / h - 1], [0, 0, 1]])
    inverse = torch.linalg.inv(matrices.double()).float()
    theta = (to_norm @ inverse @ torch.linalg.inv(to_norm))[:, :2]
    grid = F.affine_grid(theta.to(images.device), list(images.shape), align_corners=False)
    return F.grid_sample(images.float(), grid, mode='bilinear', padding_mode='zeros',
                         align_corners=False)


def scale_from_exponent(exponent: Tensor) -> Tensor:
    """Scale factor ``2 ** e`` of the released code's scale bins."""
    return torch.pow(2.0, exponent)
