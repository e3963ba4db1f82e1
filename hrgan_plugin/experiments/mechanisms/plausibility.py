"""HRGAN's mechanism: has the discriminator learned pose structure?

D(C, X) is asked to reconstruct (or, for a classifier D, to accept as real)
ground-truth heatmaps ``C`` and the same heatmaps made implausible: left and
right joints swapped (the dataset's ``flip_indices``) and then one joint
moved one limb length further along its limb. D's error on each comes from
the model's own adversarial loss (``discriminator_losses(...)['loss_real']``:
BEGAN's reconstruction energy ``e(C, D(C, X))``, or a classifier's
``-log sigmoid D(C, X)``). A ratio err(implausible) / err(real) above 1
means D tells real poses from broken ones.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Callable, Optional

import numpy as np
import torch
import torch.nn as nn
from torch import Tensor

#: keys written by :func:`plausibility_summary`
D_ERR_REAL = 'mech/d_err_real'
D_ERR_IMPLAUSIBLE = 'mech/d_err_implausible'
D_RATIO = 'mech/d_plausibility_ratio'


def swap_left_right(heatmaps: Tensor, flip_indices: Sequence[int]) -> Tensor:
    """``(N, K, H, W)`` heatmaps whose channel ``k`` is input channel
    ``flip_indices[k]``: every left joint's map moves to its right
    counterpart and back; joints on the midline (``flip_indices[k] == k``)
    keep theirs."""
    if len(flip_indices) != heatmaps.shape[1]:
        raise ValueError(f'flip_indices has {len(flip_indices)} entries for '
                         f'{heatmaps.shape[1]} heatmap channels')
    index = torch.as_tensor(list(flip_indices), dtype=torch.long, device=heatmaps.device)
    return heatmaps.index_select(1, index)


def limb_moves(keypoints: Tensor, visible: Tensor, links: Sequence[Sequence[int]],
               size: Sequence[int]) -> tuple[Tensor, Tensor]:
    """Which joint of each person to move, and by how much.

    For each person the limbs (skeleton ``links``) with both ends labelled
    are tried from the longest down: one end moves one limb length further
    along the limb (the limb doubles in length), the far end first, then
    the near end; the first move of at least one pixel that keeps the joint
    inside the ``(w, h)`` frame is taken.

    Args:
        keypoints (Tensor): ``(N, K, 2)`` positions in heatmap pixels.
        visible (Tensor): ``(N, K)``, > 0 for labelled joints.
        links (Sequence): ``(a, b)`` joint pairs of the skeleton.
        size (tuple[int, int]): ``(w, h)`` of the heatmaps.

    Returns:
        tuple[Tensor, Tensor]: the joint ``(N,)`` (-1 where no limb can be
        moved) and its integer offset ``(N, 2)`` in heatmap pixels.
    """
    w, h = size
    n = len(keypoints)
    joint = torch.full((n,), -1, dtype=torch.long)
    offset = torch.zeros(n, 2, dtype=torch.long)
    kpts, vis = keypoints.detach().float().cpu(), visible.detach().cpu() > 0
    for i in range(n):
        limbs = [(float((kpts[i, a] - kpts[i, b]).norm()), a, b) for a, b in links
                 if vis[i, a] and vis[i, b]]
        for _, a, b in sorted(limbs, key=lambda limb: -limb[0]):
            found = False
            for moved, anchor in ((b, a), (a, b)):
                step = (kpts[i, moved] - kpts[i, anchor]).round().long()
                x, y = (kpts[i, moved].round().long() + step).tolist()
                if int(step.abs().max()) >= 1 and 0 <= x < w and 0 <= y < h:
                    joint[i], offset[i], found = moved, step, True
                    break
            if found:
                break
    return joint, offset


def shift_joint(heatmaps: Tensor, joint: Tensor, offset: Tensor) -> Tensor:
    """A copy of ``(N, K, H, W)`` heatmaps with channel ``joint[i]`` of
    person ``i`` translated by ``offset[i]`` = ``(dx, dy)`` whole pixels
    (what moves past the border is lost, what enters is 0); persons with
    ``joint[i] < 0`` are unchanged."""
    out = heatmaps.clone()
    _, _, h, w = heatmaps.shape
    for i in torch.nonzero(joint >= 0).flatten().tolist():
        j = int(joint[i])
        dx, dy = (int(v) for v in offset[i])
        src = heatmaps[i, j]
        moved = torch.zeros_like(src)
        if abs(dx) < w and abs(dy) < h:
            moved[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
                src[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
        out[i, j] = moved
    return out


def implausible_heatmaps(heatmaps: Tensor, keypoints: Tensor, visible: Tensor,
                         flip_indices: Sequence[int], links: Sequence[Sequence[int]]) -> Tensor:
    """Ground-truth heatmaps ``(N, K, H, W)`` made implausible: left and
    right swapped (:func:`swap_left_right`), then one joint of each person
    moved by a limb length (:func:`limb_moves`, :func:`shift_joint`).
    ``keypoints`` ``(N, K, 2)`` (heatmap pixels) and ``visible`` ``(N, K)``
    are those the heatmaps were drawn from."""
    swapped = swap_left_right(heatmaps, flip_indices)
    index = torch.as_tensor(list(flip_indices), dtype=torch.long)
    kpts, vis = keypoints.cpu()[:, index], visible.cpu()[:, index]
    joint, offset = limb_moves(kpts, vis, links, (heatmaps.shape[-1], heatmaps.shape[-2]))
    return shift_joint(swapped, joint, offset)


@torch.no_grad()
def discriminator_errors(discriminator: Callable[[Tensor, Tensor], Tensor], adversarial_loss,
                         heatmaps: Tensor, images: Tensor,
                         weights: Optional[Tensor] = None) -> Tensor:
    """D's error ``(N,)`` on each person's heatmaps: ``loss_real`` of
    ``adversarial_loss.discriminator_losses`` for that person alone, with D
    run once on the batch (call it in eval mode, so each person's output
    does not depend on the others)."""
    out = discriminator(heatmaps, images)
    errors = []
    for i in range(len(heatmaps)):
        one = slice(i, i + 1)
        w = None if weights is None else weights[one]
        losses = adversarial_loss.discriminator_losses(out[one], heatmaps[one], out[one],
                                                       heatmaps[one], 0.0, w)
        errors.append(losses['loss_real'].float())
    return torch.stack(errors).cpu()


def plausibility_summary(err_real: Tensor, err_implausible: Tensor) -> dict[str, float]:
    """Mean errors over persons and their ratio err(implausible) / err(real)
    (NaN when D reconstructs the real heatmaps perfectly)."""
    real, implausible = float(err_real.mean()), float(err_implausible.mean())
    ratio = implausible / real if real > 0 else float('nan')
    return {D_ERR_REAL: real, D_ERR_IMPLAUSIBLE: implausible, D_RATIO: ratio}


def encode_targets(codec, keypoints: Tensor, visible: Tensor) -> tuple[Tensor, Tensor]:
    """Training targets of one-person samples from the model's ``codec``
    (its ``encode``, as ``GenerateTarget`` calls it): heatmaps
    ``(N, K, H, W)`` and keypoint weights ``(N, K)`` (0 for joints that are
    unlabelled or outside the frame) from keypoints ``(N, K, 2)`` in input
    pixels and their visibility ``(N, K)``."""
    kpts, vis = keypoints.detach().cpu().numpy(), visible.detach().cpu().numpy()
    encoded = [codec.encode(kpts[i:i + 1], vis[i:i + 1]) for i in range(len(kpts))]
    heatmaps = np.stack([e['heatmaps'] for e in encoded]).astype(np.float32)
    weights = np.concatenate([e['keypoint_weights'] for e in encoded]).astype(np.float32)
    return torch.from_numpy(heatmaps), torch.from_numpy(weights)


class PlausibilityCheck:
    """Accumulates D's errors on real and implausible heatmaps over val
    batches (:meth:`update`) and summarises them (:meth:`result`).

    Args:
        model: an ``AdversarialTopdownPoseEstimator`` in eval mode; its
            ``discriminator``, ``adversarial_loss``, ``data_preprocessor``
            and the head's codec (``head.decoder``) are used.
        metainfo (dict): the val dataset's metainfo (``flip_indices``,
            ``skeleton_links``).
    """

    def __init__(self, model: nn.Module, metainfo: dict) -> None:
        self.model = model
        self.codec = getattr(model.head, 'decoder', None)
        if self.codec is None:
            raise ValueError(f'model.head ({type(model.head).__name__}) has no decoder (codec): '
                             'the ground-truth heatmaps cannot be encoded')
        self.flip_indices = list(metainfo['flip_indices'])
        self.links = [tuple(link) for link in metainfo.get('skeleton_links', [])]
        self.real: list[Tensor] = []
        self.implausible: list[Tensor] = []

    def update(self, images: Tensor, samples: list, keypoints: Tensor, visible: Tensor) -> None:
        """One batch: ``images`` ``(N, C, h, w)`` (8-bit values, packed
        inputs, on the model's device), their packed ``samples`` and ground
        truth ``keypoints`` ``(N, K, 2)`` (input pixels), ``visible`` ``(N, K)``."""
        dev = images.device
        heatmaps, weights = encode_targets(self.codec, keypoints, visible)
        w_in, h_in = samples[0].metainfo['input_size']
        to_heatmap = keypoints.new_tensor([heatmaps.shape[-1] / w_in, heatmaps.shape[-2] / h_in])
        broken = implausible_heatmaps(heatmaps, keypoints.cpu() * to_heatmap.cpu(), weights,
                                      self.flip_indices, self.links)
        inputs = self.model.data_preprocessor(dict(inputs=images, data_samples=samples),
                                              False)['inputs']
        d, loss = self.model.discriminator, self.model.adversarial_loss
        self.real.append(discriminator_errors(d, loss, heatmaps.to(dev), inputs, weights.to(dev)))
        self.implausible.append(discriminator_errors(
            d, loss, broken.to(dev), inputs, weights[:, self.flip_indices].to(dev)))

    def result(self) -> dict[str, float]:
        """:func:`plausibility_summary` over every person seen."""
        return plausibility_summary(torch.cat(self.real), torch.cat(self.implausible))
