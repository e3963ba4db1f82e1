"""The pose network as the adversarial augmentation sees it: its features
read by the augmentation net, its feature maps occluded by AHO, and its
frozen predictions on batches of crops."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import torch
import torch.nn as nn
from mmpose.structures import PoseDataSample
from torch import Tensor

from ...models.augmentation.hardness import heatmap_argmax
from ...models.augmentation.occlusion import apply_masks
from ...utils.errors import TrainingAborted
from ...utils.model_wrappers import resolve_module, unwrap_model


class FeatureGridError(TrainingAborted):
    """The configured feature maps are coarser than the occlusion grid."""


class PoseNetTaps:
    """Forward hooks on ``feature_modules`` (outputs captured, detached, while
    :attr:`features` is a list) and ``mask_modules`` (rows ``rows`` of their
    outputs multiplied by AHO masks while :attr:`masks` is armed).

    Args:
        model: the pose estimator (possibly inside a model wrapper).
        feature_modules (list[str]): modules whose outputs the augmentation
            net reads.
        mask_modules (list[str]): modules whose outputs AHO occludes.
        occlusion_grid (tuple[int, int]): ``(w, h)`` of the AHO grid.
        eval_batch_size (int): images per no-grad pass in :meth:`predict`.
    """

    def __init__(self, model: nn.Module, feature_modules: Sequence[str],
                 mask_modules: Sequence[str], occlusion_grid: Sequence[int],
                 eval_batch_size: int) -> None:
        self.model = unwrap_model(model)
        self.grid = tuple(occlusion_grid)
        self.eval_batch_size = eval_batch_size
        self.features: Optional[list[Tensor]] = None
        self.masks: Optional[tuple[Tensor, Tensor]] = None
        for key, names, hook in (('feature_modules', feature_modules, self._capture),
                                 ('mask_modules', mask_modules, self._occlude)):
            for name in names:
                try:
                    resolve_module(self.model, name).register_forward_hook(hook)
                except KeyError as e:
                    raise KeyError(f'AdversarialAugmentationHook.{key}: {e.args[0]}') from None

    def _capture(self, module, args, output) -> None:
        if self.features is not None:
            outs = output if isinstance(output, (list, tuple)) else [output]
            self.features += [o.detach() for o in outs]

    def _occlude(self, module, args, output):
        if self.masks is None:
            return None
        rows, masks = self.masks
        outs = output if isinstance(output, (list, tuple)) else [output]
        self.check_grid('mask_modules', outs)
        if isinstance(output, (list, tuple)):
            return type(output)(apply_masks(o, masks, rows) for o in output)
        return apply_masks(output, masks, rows)

    def check_grid(self, key: str, maps: list[Tensor]) -> None:
        """Every feature map must have at least one pixel per occlusion-grid
        cell, or cells vanish from the masks and the net's grid."""
        gw, gh = self.grid
        small = [tuple(m.shape[-2:]) for m in maps if m.shape[-2] < gh or m.shape[-1] < gw]
        if small:
            raise FeatureGridError(
                f'AdversarialAugmentationHook.{key}: feature maps of size {small[0]} (h, w) are '
                f'smaller than occlusion_grid {(gw, gh)} (w, h); choose modules of a finer '
                f'stride in {key}, or a coarser occlusion_grid')

    def predict(self, images: Tensor, capture: bool = False,
                masks: Optional[tuple[Tensor, Tensor]] = None
                ) -> tuple[Tensor, list[Tensor]]:
        """The pose net in eval mode without gradients on ``images``
        ``(N, C, h, w)`` (8-bit values, as the pipeline packs them, on the
        model's device): heatmap maxima ``(N, K, 2)`` in input pixels and,
        with ``capture``, the features of ``feature_modules``. ``masks``
        (rows, masks) occludes those rows' ``mask_modules`` outputs."""
        model = self.model
        was_training = model.training
        model.eval()
        preds, features = [], []
        size = (images.shape[-1], images.shape[-2])
        try:
            for start in range(0, len(images), self.eval_batch_size):
                part = images[start:start + self.eval_batch_size]
                inputs = model.data_preprocessor(
                    dict(inputs=part, data_samples=[PoseDataSample() for _ in part]),
                    False)['inputs']
                if masks is not None:
                    rows = masks[0] - start
                    keep = (rows >= 0) & (rows < len(part))
                    self.masks = (rows[keep], masks[1][keep])
                self.features = [] if capture else None
                with torch.no_grad():
                    heatmaps = model.head(model.extract_feat(inputs))
                if capture:
                    features.append(self.features)
                heatmaps = heatmaps[-1] if isinstance(heatmaps, (list, tuple)) else heatmaps
                preds.append(heatmap_argmax(heatmaps, size))
        finally:
            self.features, self.masks = None, None
            model.train(was_training)
        if capture:
            features = [torch.cat(level) for level in zip(*features)]
            self.check_grid('feature_modules', features)
        return torch.cat(preds), features
