"""Hardness of a pose sample for the frozen pose network (Peng et al. 2018,
released code): its per-person PCK over the annotated joints that lie inside
the sample's frame."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

#: normalisers: 'head' (PCKh: the upper-neck to head-top length) or 'bbox'
#: (the larger side of the person's box), both in input pixels
PCK_NORMS = ('head', 'bbox')


def heatmap_argmax(heatmaps: Tensor, input_size: Sequence[int]) -> Tensor:
    """``(B, K, 2)`` input-pixel positions of the maxima of ``(B, K, h, w)``
    heatmaps (a heatmap pixel is ``input / heatmap`` input pixels)."""
    b, k, h, w = heatmaps.shape
    flat = heatmaps.detach().float().reshape(b, k, -1).argmax(-1).cpu()
    xy = torch.stack([flat % w, torch.div(flat, w, rounding_mode='floor')], -1).float()
    return xy * torch.tensor([input_size[0] / w, input_size[1] / h])


def person_pck(pred: Tensor, samples: list, thr: float, norm: str = 'head',
               head_ids: tuple[int, int] | None = None,
               ignore: Sequence[int] = ()) -> Tensor:
    """Per-person PCK ``(B,)`` of predicted keypoints ``pred`` ``(B, K, 2)``
    (input pixels) against each sample's ``transformed_keypoints``.

    A joint counts when it is annotated (``keypoints_visible > 0``), lies
    inside the ``input_size`` frame and is not in ``ignore``; it is correct
    when its error is at most ``thr`` times the normaliser: the distance
    between the joints ``head_ids`` (``norm='head'``, PCKh) or the larger
    side of the person's bbox in input pixels (``norm='bbox'``). A sample
    with no joint to count, or without the normaliser's joints, gets NaN.
    """
    if norm not in PCK_NORMS:
        raise ValueError(f'PCK norm must be one of {PCK_NORMS}, got {norm!r}')
    if norm == 'head' and head_ids is None:
        raise ValueError("PCK norm 'head' needs head_ids (upper neck, head top)")
    out = torch.full((len(samples),), float('nan'))
    for i, s in enumerate(samples):
        gt = np.asarray(s.gt_instances.transformed_keypoints, dtype=np.float64)[0, :, :2]
        vis = np.asarray(s.gt_instances.keypoints_visible, dtype=np.float64)[0] > 0
        w, h = s.metainfo['input_size']
        valid = vis & (gt[:, 0] >= 0) & (gt[:, 0] < w) & (gt[:, 1] >= 0) & (gt[:, 1] < h)
        valid[list(ignore)] = False
        if norm == 'head':
            a, b = head_ids
            size = np.linalg.norm(gt[a] - gt[b]) if vis[a] and vis[b] else 0.0
        else:
            x0, y0, x1, y1 = np.asarray(s.gt_instances.bboxes, dtype=np.float64)[0]
            size = max(x1 - x0, y1 - y0) * w / float(s.metainfo['input_scale'][0])
        if not valid.any() or size <= 0:
            continue
        err = np.linalg.norm(pred[i].numpy().astype(np.float64) - gt, axis=1)
        out[i] = float((err[valid] <= thr * size).mean())
    return out


def harder_than(adv_pck: Tensor, ref_pck: Tensor) -> Tensor:
    """Adversarial samples harder than their references (released code:
    ``PCK_ref - PCK_adv > 0``; ties, and samples without a PCK, are not)."""
    return torch.nan_to_num(ref_pck - adv_pck, nan=0.0) > 0


def bin_hardness_targets(pck: Tensor) -> Tensor:
    """Per-image pre-training targets ``(B, k)`` from the PCK ``(B, k)`` of
    one image rendered at each bin's centre: ``1 - PCK`` normalised over the
    bins (uniform when the net gets every rendering right); renderings
    without a PCK count as not hard."""
    hard = torch.nan_to_num(1.0 - pck, nan=0.0).clamp_min(0)
    total = hard.sum(1, keepdim=True)
    uniform = torch.full_like(hard, 1.0 / hard.shape[1])
    return torch.where(total > 0, hard / total.clamp_min(1e-12), uniform)
