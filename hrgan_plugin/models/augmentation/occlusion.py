"""Hierarchical occlusion masks (AHO): built on the coarse ``w x h`` grid and
applied, upsampled, to feature maps of any resolution."""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


def grid_masks(cells: Tensor, grid: Sequence[int]) -> Tensor:
    """``(B, 1, h, w)`` masks, 0 on the cells listed in ``cells`` ``(B, c)``
    (row-major indices; negative entries are ignored) and 1 elsewhere."""
    gw, gh = grid
    cells = cells.cpu()
    mask = torch.ones(len(cells), gw * gh)
    valid = cells >= 0
    rows = torch.arange(len(cells))[:, None].expand_as(cells)
    mask[rows[valid], cells[valid]] = 0
    return mask.view(-1, 1, gh, gw)


def apply_masks(features: Tensor, masks: Tensor, rows: Tensor) -> Tensor:
    """Multiply ``features[rows]`` by ``masks`` upsampled (nearest) to the
    features' resolution; other rows pass unchanged (gradients flow).

    The result keeps ``features``' dtype: under CUDA autocast the upsampling
    runs in fp32 (torch's ``AT_FORALL_FP32`` list) while the features are
    fp16 or bf16; a 0/1 mask is exact in either."""
    up = F.interpolate(masks.to(features), size=features.shape[-2:], mode='nearest')
    scale = torch.ones(len(features), 1, *features.shape[-2:], dtype=features.dtype,
                       device=features.device)
    scale[rows.to(features.device)] = up.to(scale.dtype)
    return features * scale
