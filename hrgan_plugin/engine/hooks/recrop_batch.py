"""The ASR rows of a batch as tensors on the model's device: their contexts
(cut by the loader's workers) and the ground truth of any re-crop of them."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import torch
from torch import Tensor

from ...datasets.transforms.recrop_context import CONTEXT_KEY
from ...models.augmentation.context_warp import ContextWarp
from ...models.augmentation.hardness import pck_normaliser, person_pck


@dataclass
class PCKJudge:
    """Per-person PCK settings of the hardness (see
    :func:`~hrgan_plugin.models.augmentation.hardness.person_pck`)."""

    thr: float
    norm: str
    head_ids: Optional[tuple[int, int]]
    ignore: Sequence[int]

    def __call__(self, pred: Tensor, keypoints: Tensor, visible: Tensor, bbox_size: Tensor,
                 input_size: Sequence[int]) -> Tensor:
        size = pck_normaliser(keypoints, visible, self.norm, self.head_ids, bbox_size)
        return person_pck(pred, keypoints, visible, input_size, self.thr, size, self.ignore)


@dataclass
class RecropBatch:
    """Contexts ``img`` ``(N, C, S, S)`` (float, 8-bit values), their
    keypoints ``(N, K, 2)`` (context pixels), visibility ``(N, K)`` and bbox
    sizes ``(N,)``."""

    img: Tensor
    keypoints: Tensor
    visible: Tensor
    bbox_size: Tensor

    @classmethod
    def from_samples(cls, samples: list, device: torch.device) -> RecropBatch:
        """Gather the contexts packed in the samples' metainfo, on ``device``."""
        try:
            ctx = [s.metainfo[CONTEXT_KEY] for s in samples]
        except KeyError:
            raise KeyError(f'AdversarialAugmentationHook: a training sample has no '
                           f'{CONTEXT_KEY!r}; the train pipeline lost the RecropContext the '
                           f'hook inserted (were its loader workers started before '
                           f'before_train?)') from None
        return cls(torch.stack([c['img'] for c in ctx]).to(device, non_blocking=True).float(),
                   torch.stack([c['keypoints'] for c in ctx]).to(device),
                   torch.stack([c['keypoints_visible'] for c in ctx]).to(device),
                   torch.tensor([c['bbox_size'] for c in ctx], device=device))

    def __len__(self) -> int:
        return len(self.img)

    def crops(self, warp: ContextWarp, scale: Tensor, angle: Tensor) -> Tensor:
        """uint8 re-crops: ``(N, C, h, w)`` for ``(N,)`` scales and angles,
        ``(k, N, C, h, w)`` for ``(k, N)`` (see :meth:`ContextWarp.crops`)."""
        return warp.crops(self.img, scale, angle)

    def truth(self, warp: ContextWarp, scale: Tensor, angle: Tensor
              ) -> tuple[Tensor, Tensor, Tensor]:
        """Keypoints ``(N, K, 2)`` (input pixels), visibility ``(N, K)`` and
        bbox sizes ``(N,)`` (input pixels) of re-crops at ``(N,)`` scales
        and angles."""
        dev = self.img.device
        scale, angle = scale.to(dev), angle.to(dev)
        return (warp.keypoints(self.keypoints, scale, angle), self.visible,
                self.bbox_size * scale / warp.zoom)
