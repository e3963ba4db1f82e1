"""Hardness of a pose sample for the frozen pose network (Peng et al. 2018,
released code): its per-person PCK over the annotated joints that lie inside
the sample's frame."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

#: normalisers: 'head' (PCKh: the upper-neck to head-top length) or 'bbox'
#: (the larger side of the person's box), both in input pixels
PCK_NORMS = ('head', 'bbox')


def heatmap_argmax(heatmaps: Tensor, input_size: Sequence[int]) -> Tensor:
    """``(B, K, 2)`` input-pixel positions of the maxima of ``(B, K, h, w)``
    heatmaps (a heatmap pixel is ``input / heatmap`` input pixels), on the
    heatmaps' device."""
    b, k, h, w = heatmaps.shape
    flat = heatmaps.detach().reshape(b, k, -1).argmax(-1)
    xy = torch.stack([flat % w, torch.div(flat, w, rounding_mode='floor')], -1).float()
    return xy * xy.new_tensor([input_size[0] / w, input_size[1] / h])


def pck_normaliser(keypoints: Tensor, visible: Tensor, norm: str = 'head',
                   head_ids: tuple[int, int] | None = None,
                   bbox_size: Tensor | None = None) -> Tensor:
    """``(B,)`` PCK normalisers in input pixels: the distance between the
    joints ``head_ids`` (``norm='head'``, PCKh; 0 unless both are annotated)
    or ``bbox_size``, the longer side of each person's bbox (``'bbox'``)."""
    if norm not in PCK_NORMS:
        raise ValueError(f'PCK norm must be one of {PCK_NORMS}, got {norm!r}')
    if norm == 'bbox':
        return bbox_size.to(keypoints)
    if head_ids is None:
        raise ValueError("PCK norm 'head' needs head_ids (upper neck, head top)")
    a, b = head_ids
    both = (visible[:, a] > 0) & (visible[:, b] > 0)
    return torch.where(both, (keypoints[:, a] - keypoints[:, b]).norm(dim=-1),
                       torch.zeros_like(keypoints[:, 0, 0]))


def person_pck(pred: Tensor, keypoints: Tensor, visible: Tensor, input_size: Sequence[int],
               thr: float, size: Tensor, ignore: Sequence[int] = ()) -> Tensor:
    """Per-person PCK ``(B,)`` of predicted keypoints ``pred`` ``(B, K, 2)``
    against ``keypoints`` ``(B, K, 2)`` (both in input pixels), batched on
    their device.

    A joint counts when it is annotated (``visible > 0``), lies inside the
    ``input_size`` frame and is not in ``ignore``; it is correct when its
    error is at most ``thr`` times the person's normaliser ``size`` ``(B,)``
    (:func:`pck_normaliser`). A person with no joint to count, or with no
    normaliser, gets NaN.
    """
    w, h = input_size
    x, y = keypoints[..., 0], keypoints[..., 1]
    valid = (visible > 0) & (x >= 0) & (x < w) & (y >= 0) & (y < h)
    if len(ignore):
        valid[:, list(ignore)] = False
    err = (pred.to(keypoints) - keypoints).norm(dim=-1)
    correct = (err <= thr * size[:, None]) & valid
    count = valid.sum(1)
    pck = correct.sum(1) / count.clamp_min(1)
    return torch.where((count > 0) & (size > 0), pck, torch.full_like(pck, float('nan')))


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


def sample_keypoints(samples: list) -> tuple[Tensor, Tensor, Tensor]:
    """Keypoints ``(B, K, 2)`` in input pixels (``transformed_keypoints``),
    their visibility ``(B, K)`` and the bbox's longer side in input pixels
    ``(B,)`` of packed top-down samples (one person each)."""
    kpts, vis, size = [], [], []
    for s in samples:
        inst = s.gt_instances
        kpts.append(torch.as_tensor(inst.transformed_keypoints, dtype=torch.float32)[0, :, :2])
        v = torch.as_tensor(inst.keypoints_visible, dtype=torch.float32)[0]
        vis.append(v[:, 0] if v.ndim == 2 else v)
        x0, y0, x1, y1 = (float(c) for c in inst.bboxes[0])
        size.append(max(x1 - x0, y1 - y0) * s.metainfo['input_size'][0]
                    / float(s.metainfo['input_scale'][0]))
    return torch.stack(kpts), torch.stack(vis), torch.tensor(size)
