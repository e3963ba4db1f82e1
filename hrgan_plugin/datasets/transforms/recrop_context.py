"""The image context an ASR re-crop needs, cut in the data loader's workers."""
from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmpose.datasets.transforms import TopdownAffine
from mmpose.registry import TRANSFORMS

#: the key of the packed context in ``results`` and in the samples' metainfo
CONTEXT_KEY = 'recrop_context'


def context_side(input_size: Sequence[int], min_scale: float, zoom: float) -> int:
    """Side ``S`` (pixels) of a square context that holds the crop box at
    any content scale ``>= min_scale`` and any rotation: the diagonal of the
    largest box, at ``zoom`` context pixels per input pixel, plus one pixel
    of margin on each side for bilinear sampling."""
    w, h = input_size
    return int(math.ceil(zoom * math.hypot(w, h) / min_scale)) + 2


@TRANSFORMS.register_module()
class RecropContext(BaseTransform):
    """Cut the square neighbourhood of a sample's (unaugmented) bbox from the
    original image, so that the training process can re-crop the sample at
    any content scale and rotation with tensor warps instead of decoding the
    image again (:class:`~hrgan_plugin.models.augmentation.ContextWarp`).

    It goes right after ``GetBBoxCenterScale`` (before any random
    transform). The context frame: the crop box of ``TopdownAffine`` (its
    aspect ratio fixed to ``input_size``) is centred at ``(S/2, S/2)`` and
    ``zoom * input_size`` context pixels large, so every sample's context has
    the same geometry and only the image and keypoints differ.

    Added key ``'recrop_context'``: a dict with ``img`` (``uint8`` tensor
    ``(3, S, S)``, the image's channel order), ``keypoints`` (``(K, 2)``
    float32, context pixels), ``keypoints_visible`` (``(K,)`` float32),
    ``bbox_size`` (the bbox's longer side, context pixels), and ``center``
    and ``scale``: the crop box at content scale 1 in image pixels, as
    ``TopdownAffine`` would set ``input_center`` and ``input_scale``.

    Args:
        input_size (tuple[int, int]): ``(w, h)`` of the model input.
        min_scale (float): the smallest content scale a re-crop takes (a
            scale ``s < 1`` zooms out: the box grows by ``1 / s``).
        zoom (float): context pixels per input pixel at content scale 1;
            the largest content scale keeps full detail at ``zoom`` equal to
            that scale. Defaults to 1.
    """

    def __init__(self, input_size: Sequence[int], min_scale: float, zoom: float = 1.0) -> None:
        if not 0 < min_scale <= 1:
            raise ValueError(f'RecropContext.min_scale must lie in (0, 1], got {min_scale}')
        if zoom <= 0:
            raise ValueError(f'RecropContext.zoom must be positive, got {zoom}')
        self.input_size = tuple(int(v) for v in input_size)
        self.min_scale, self.zoom = float(min_scale), float(zoom)
        self.side = context_side(self.input_size, self.min_scale, self.zoom)

    def transform(self, results: dict) -> dict:
        w, h = self.input_size
        if 'bbox_center' not in results:
            raise KeyError('RecropContext needs bbox_center and bbox_scale: put it after '
                           'GetBBoxCenterScale in the train pipeline')
        center = results['bbox_center'][0]
        box = TopdownAffine._fix_aspect_ratio(results['bbox_scale'], aspect_ratio=w / h)[0]
        d = self.zoom * w / box[0]  # context pixels per image pixel
        s = self.side
        warp = np.array([[d, 0.0, s / 2 - d * center[0]], [0.0, d, s / 2 - d * center[1]]],
                        dtype=np.float32)
        img = cv2.warpAffine(results['img'], warp, (s, s), flags=cv2.INTER_LINEAR)
        if img.ndim == 2:
            img = img[..., None]
        keypoints = cv2.transform(np.asarray(results['keypoints'][..., :2], np.float32), warp)
        visible = np.asarray(results['keypoints_visible'], np.float32)[0]
        if visible.ndim == 2:  # (K, 2): visibility and its weight
            visible = visible[:, 0]
        x0, y0, x1, y1 = np.asarray(results['bbox'], np.float64)[0]
        results[CONTEXT_KEY] = dict(
            img=torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))),
            keypoints=torch.from_numpy(keypoints[0].astype(np.float32)),
            keypoints_visible=torch.from_numpy(np.ascontiguousarray(visible)),
            bbox_size=float(d * max(x1 - x0, y1 - y0)),
            center=torch.from_numpy(np.asarray(center, np.float32)),
            scale=torch.from_numpy(np.asarray(box, np.float32)))
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(input_size={self.input_size}, '
                f'min_scale={self.min_scale}, zoom={self.zoom})')
