"""Re-crops of a training sample from its original image (ASR, Peng et al.
2018): the sample's unaugmented bbox, scaled and rotated, through the train
pipeline's own ``TopdownAffine``, ``GenerateTarget`` and ``PackPoseInputs``;
and the training targets of a re-crop made elsewhere (tensor warps)."""
from __future__ import annotations

import cv2
import numpy as np
import torch
from mmengine.structures import InstanceData, PixelData
from mmpose.datasets.transforms import (
    GenerateTarget,
    GetBBoxCenterScale,
    PackPoseInputs,
    TopdownAffine,
)
from mmpose.structures import PoseDataSample
from mmpose.structures.bbox import get_warp_matrix

from .pipeline_utils import pipeline_datasets
from .transforms.recrop_context import CONTEXT_KEY

#: the transforms a re-crop reuses from the train pipeline, in order
RECROP_STEPS = (GetBBoxCenterScale, TopdownAffine, GenerateTarget, PackPoseInputs)


class TopdownRecrop:
    """Crops of dataset sample ``sample_idx`` at content scale ``s`` and
    rotation ``r``: the crop box of ``GetBBoxCenterScale`` divided by ``s``
    (``s > 1`` zooms in) and rotated by ``r`` degrees (mmpose's
    ``bbox_rotation``), warped from the original image, so the borders show
    the image's real surroundings. Random flips, bbox jitter and half-body
    crops of the pipeline are not applied.

    Training makes its re-crops as tensor warps of contexts
    (:class:`~hrgan_plugin.models.augmentation.ContextWarp`) and takes their
    targets from :meth:`training_sample`; :meth:`load_sample` and
    :meth:`crop`, one cv2 warp of the decoded image, are the reference those
    warps are measured against (``tests/test_adversarial_sampling.py``).

    Args:
        dataset: the built train dataset (a plain top-down dataset, or a
            wrapper of exactly one, e.g. ``RepeatDataset``).
    """

    def __init__(self, dataset) -> None:
        inner = [ds for ds in pipeline_datasets(dataset) if hasattr(ds, 'get_data_info')
                 and hasattr(getattr(ds, 'pipeline', None), 'transforms')]
        if len(inner) != 1:
            raise ValueError(f'ASR re-crops need one top-down dataset with a pipeline; the '
                             f'train dataset {type(dataset).__name__} holds {len(inner)}')
        self.dataset = inner[0]
        transforms = self.dataset.pipeline.transforms
        self.load = transforms[0]
        steps = []
        for kind in RECROP_STEPS:
            found = [t for t in transforms if isinstance(t, kind)]
            if not found:
                raise ValueError(f'ASR re-crops need a {kind.__name__} in the train pipeline '
                                 f'of {type(self.dataset).__name__}')
            steps.append(found[0])
        self.centre_scale, *self.steps = steps
        self.input_size = tuple(self.steps[0].input_size)

    def load_sample(self, sample_idx: int) -> dict:
        """The annotation and its original image, with the unaugmented bbox."""
        results = self.load(self.dataset.get_data_info(int(sample_idx)))
        if results is None:
            raise ValueError(f'ASR re-crop: sample {sample_idx} of '
                             f'{type(self.dataset).__name__} could not be loaded')
        return self.centre_scale(results)

    def crop(self, sample: dict, scale: float, rotation: float) -> dict:
        """A packed ``dict(inputs, data_samples)`` of ``sample`` (from
        :meth:`load_sample`) at content scale ``scale`` and ``rotation``."""
        results = {k: v.copy() if isinstance(v, np.ndarray) and k != 'img' else v
                   for k, v in sample.items()}
        results['bbox_scale'] = results['bbox_scale'] / float(scale)
        results['bbox_rotation'] = np.full(len(results['bbox_scale']), float(rotation),
                                           dtype=np.float32)
        for step in self.steps:
            results = step(results)
        return results

    def canonical_keypoints(self, sample_idx: int) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints ``(K, 2)`` of sample ``sample_idx`` in its canonical crop
        (scale 1, rotation 0; input pixels) and their visibility ``(K,)``,
        from the annotation alone (no image is read)."""
        info = self.centre_scale(self.dataset.get_data_info(int(sample_idx)))
        w, h = self.input_size
        scale = TopdownAffine._fix_aspect_ratio(info['bbox_scale'], aspect_ratio=w / h)
        warp = get_warp_matrix(info['bbox_center'][0], scale[0], 0.0, output_size=(w, h))
        kpts = cv2.transform(np.asarray(info['keypoints'][..., :2], dtype=np.float32), warp)
        return kpts[0], np.asarray(info['keypoints_visible'], dtype=np.float32)[0]

    def training_sample(self, sample: PoseDataSample, keypoints: np.ndarray,
                        visible: np.ndarray, scale: float, rotation: float) -> PoseDataSample:
        """A packed sample of the re-crop of ``sample`` at content scale
        ``scale`` and ``rotation`` (degrees) with ``keypoints`` ``(K, 2)``
        (input pixels) and ``visible`` ``(K,)``: the pipeline's
        ``GenerateTarget`` (its codec) encodes the targets, packed as
        ``PackPoseInputs`` packs them; the crop box (``input_center``,
        ``input_scale``, ``bbox_rotation``) is the re-crop's, the bbox and
        the rest of the metainfo ``sample``'s (less its context; a re-crop
        is never flipped)."""
        results = self.steps[1](dict(
            transformed_keypoints=keypoints[None].astype(np.float32),
            keypoints_visible=visible[None].astype(np.float32),
            dataset_keypoint_weights=self.dataset.metainfo.get('dataset_keypoint_weights')))
        pack = self.steps[2]
        context = sample.metainfo[CONTEXT_KEY]
        meta = {k: v for k, v in sample.metainfo.items() if k != CONTEXT_KEY}  # (deep-copied)
        out = PoseDataSample(metainfo=dict(
            meta, flip=False, flip_direction=None, input_center=context['center'].numpy(),
            input_scale=context['scale'].numpy() / scale,
            bbox_rotation=np.array([rotation], np.float32)))
        out.gt_instances = InstanceData(
            bboxes=sample.gt_instances.bboxes, keypoints_visible=results['keypoints_visible'],
            transformed_keypoints=results['transformed_keypoints'])
        labels = InstanceData()
        for key, packed in pack.label_mapping_table.items():
            if key in results:
                labels.set_field(results[key], packed)
        out.gt_instance_labels = labels.to_tensor()
        fields = PixelData()
        for key, packed in pack.field_mapping_table.items():
            if key in results:
                fields.set_field(torch.as_tensor(results[key]), packed)
        out.gt_fields = fields
        return out
