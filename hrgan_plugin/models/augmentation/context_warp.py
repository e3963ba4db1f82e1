"""ASR re-crops as batched tensor warps of the contexts cut by
:class:`~hrgan_plugin.datasets.transforms.RecropContext`, on the device the
contexts are on."""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


class ContextWarp:
    """Crops of ``RecropContext`` contexts at content scale ``s`` and
    rotation ``r`` (degrees), with the geometry of mmpose's
    ``get_warp_matrix`` (as ``TopdownAffine`` with ``bbox_rotation``): a
    context pixel ``x`` goes to the input pixel

    ``y = (s / zoom) R(-r) (x - c) + o``,

    with ``c = (S/2, S/2)`` the box centre in the context, ``o = (w/2, h/2)``
    and ``R`` the rotation matrix. Images are sampled bilinearly with zero
    padding (``grid_sample``, pixel centres as ``cv2.warpAffine``), keypoints
    mapped exactly.

    Args:
        input_size (tuple[int, int]): ``(w, h)`` of the crops.
        side (int): side ``S`` of the square contexts.
        zoom (float): context pixels per input pixel at content scale 1.
    """

    def __init__(self, input_size: Sequence[int], side: int, zoom: float) -> None:
        self.input_size = tuple(int(v) for v in input_size)
        self.side, self.zoom = int(side), float(zoom)

    def _rotation(self, scale: Tensor, angle: Tensor, inverse: bool) -> Tensor:
        """``(N, 2, 2)``: ``(s/zoom) R(-r)``, or its inverse ``(zoom/s) R(r)``."""
        rad = torch.deg2rad(angle.float())
        cos, sin = torch.cos(rad), torch.sin(rad)
        k = self.zoom / scale.float() if inverse else scale.float() / self.zoom
        if not inverse:
            sin = -sin
        return k[:, None, None] * torch.stack([torch.stack([cos, -sin], -1),
                                               torch.stack([sin, cos], -1)], -2)

    def keypoints(self, keypoints: Tensor, scale: Tensor, angle: Tensor) -> Tensor:
        """``(N, K, 2)`` input-pixel positions of context keypoints ``(N, K, 2)``."""
        lin = self._rotation(scale, angle, inverse=False).to(keypoints.device)
        c = self.side / 2
        o = keypoints.new_tensor([self.input_size[0] / 2, self.input_size[1] / 2])
        return (keypoints - c) @ lin.transpose(1, 2) + o

    def affine_theta(self, scale: Tensor, angle: Tensor) -> Tensor:
        """``(N, 2, 3)`` ``affine_grid`` matrices (normalised crop coordinates,
        ``align_corners=False``, to normalised context coordinates)."""
        w, h = self.input_size
        s = self.side
        inv = self._rotation(scale, angle, inverse=True)  # input pixels -> context pixels
        o = inv.new_tensor([w / 2, h / 2])
        shift = s / 2 - inv @ o
        # normalised crop -> crop pixels: x = (w/2) u + (w-1)/2
        px = inv.new_tensor([[w / 2, 0.0], [0.0, h / 2]])
        pt = inv.new_tensor([(w - 1) / 2, (h - 1) / 2])
        # context pixels -> normalised context: v = (2 x + 1) / S - 1
        lin = (2 / s) * inv @ px
        trans = (2 / s) * (inv @ pt + shift) + (1 / s - 1)
        return torch.cat([lin, trans[..., None]], -1)

    def crops(self, contexts: Tensor, scale: Tensor, angle: Tensor) -> Tensor:
        """Crops of ``contexts`` ``(N, C, S, S)`` (uint8 or float) as uint8
        (rounded, as an 8-bit image): ``(N, C, h, w)`` for ``scale`` and
        ``angle`` of shape ``(N,)`` (row ``i`` at ``scale[i]``, ``angle[i]``),
        or ``(k, N, C, h, w)`` for ``(k, N)`` (``k`` crops of each context,
        sampled in one ``grid_sample`` call: the ``k`` grids side by side)."""
        if contexts.shape[-2:] != (self.side, self.side):
            raise ValueError(f'ContextWarp: contexts of size {tuple(contexts.shape[-2:])}, '
                             f'expected ({self.side}, {self.side}) from RecropContext')
        single = scale.dim() == 1
        scale, angle = (t.to(contexts.device).reshape(-1, len(contexts)) for t in (scale, angle))
        k, n = scale.shape
        w, h = self.input_size
        theta = self.affine_theta(scale.flatten(), angle.flatten())
        grid = F.affine_grid(theta, [k * n, 1, h, w], align_corners=False)
        grid = grid.view(k, n, h, w, 2).permute(1, 2, 0, 3, 4).reshape(n, h, k * w, 2)
        out = F.grid_sample(contexts.float(), grid, mode='bilinear', padding_mode='zeros',
                            align_corners=False)
        # bilinear weights are convex: values stay in [0, 255]; + 0.5 then
        # truncation rounds them
        out = out.add_(0.5).to(torch.uint8).view(n, -1, h, k, w).permute(3, 0, 1, 2, 4)
        out = out.contiguous()
        return out[0] if single else out
