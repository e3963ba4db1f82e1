"""PCK split by keypoint visibility, and the share of implausible poses."""
from __future__ import annotations

import json
from typing import Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmpose.registry import METRICS


@METRICS.register_module()
class OcclusionPCKMetric(BaseMetric):
    """PCK over visible, occluded and all labelled keypoints, and the
    implausible-pose rate, for top-down predictions.

    A keypoint is correct when ``||p - g|| <= thr * s``, with ``s`` the
    larger side of the ground-truth box (``norm_item='bbox'``, COCO) or the
    MPII head size (``norm_item='head'``, 0.6 x the head-box diagonal). It
    is counted by its COCO visibility flag: ``PCK_visible`` over v=2,
    ``PCK_occluded`` over v=1 (labelled but hidden), ``PCK`` over v>0.

    A predicted instance is implausible when at least one bone ``(a, b)`` of
    the skeleton, with both ends labelled, has a predicted length outside
    ``bone_ratio`` times its ground-truth length. Bones shorter than
    ``min_bone_length * s`` in the ground truth are not judged (a few pixels
    of error would swing their ratio). ``implausible_rate`` is the share of
    instances with a judged bone that are implausible; ``implausible_bone_rate``
    the share of judged bones out of range, which keeps resolving differences
    when weak models make nearly every instance implausible.

    Visibility flags come from ``raw_ann_info['keypoints']`` (packed by
    mmpose's COCO-style datasets) or, for MPII-format data, from the
    ``joints_visibility`` lists of ``ann_file`` (the synthetic writer's MPII
    json), indexed by the sample's ``id``.

    Args:
        thr (float): PCK threshold as a fraction of ``s``. Default 0.2.
        norm_item (str): ``'bbox'`` or ``'head'``. Default ``'bbox'``.
        ann_file (str, optional): MPII-format json with ``joints_visibility``;
            needed only when samples carry no ``raw_ann_info``.
        bone_ratio (tuple[float, float]): plausible range of predicted /
            ground-truth bone length. Default (0.5, 2.0).
        min_bone_length (float): shortest judged bone, as a fraction of
            ``s``. Default 0.05.
        skeleton (list[tuple[int, int]], optional): bones as keypoint index
            pairs; default the dataset's ``skeleton_links``.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Default ``'cpu'``.
        prefix (str, optional): metric name prefix. Default ``'occlusion'``.
    """
    default_prefix: Optional[str] = 'occlusion'

    def __init__(self, thr: float = 0.2, norm_item: str = 'bbox',
                 ann_file: Optional[str] = None,
                 bone_ratio: tuple[float, float] = (0.5, 2.0),
                 min_bone_length: float = 0.05,
                 skeleton: Optional[Sequence[Sequence[int]]] = None,
                 collect_device: str = 'cpu', prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if norm_item not in ('bbox', 'head'):
            raise ValueError(f"OcclusionPCKMetric: norm_item must be 'bbox' or 'head', "
                             f'got {norm_item!r}')
        if not 0 < bone_ratio[0] < bone_ratio[1]:
            raise ValueError(f'OcclusionPCKMetric: bone_ratio must be (low, high) with '
                             f'0 < low < high, got {bone_ratio!r}')
        self.thr = thr
        self.norm_item = norm_item
        self.bone_ratio = tuple(bone_ratio)
        self.min_bone_length = min_bone_length
        self.skeleton = [tuple(b) for b in skeleton] if skeleton is not None else None
        self.ann_file = ann_file
        self._file_flags: Optional[list] = None
        if ann_file is not None:
            with open(ann_file) as f:
                entries = json.load(f)
            try:
                self._file_flags = [e['joints_visibility'] for e in entries]
            except (TypeError, KeyError) as err:
                raise KeyError(f'OcclusionPCKMetric: {ann_file} is not a list of MPII '
                               f"entries with 'joints_visibility' (write it with "
                               f'tools/make_synthetic_dataset.py)') from err

    def _flags(self, data_sample: dict) -> np.ndarray:
        raw = data_sample.get('raw_ann_info')
        if isinstance(raw, dict) and 'keypoints' in raw:
            return np.asarray(raw['keypoints'], dtype=np.float64)[2::3].astype(np.int64)
        if self._file_flags is not None:
            return np.asarray(self._file_flags[data_sample['id']], dtype=np.int64)
        raise KeyError('OcclusionPCKMetric: the samples carry no raw_ann_info keypoints; '
                       "pass ann_file= an MPII json with 'joints_visibility'")

    def _norm(self, gt: dict) -> float:
        if self.norm_item == 'bbox':
            box = np.asarray(gt['bboxes'], dtype=np.float64).reshape(-1, 4)[0]
            return float(np.max(box[2:] - box[:2]))
        return float(np.asarray(gt['head_size']).reshape(-1)[0])

    def process(self, data_batch: Sequence[dict], data_samples: Sequence[dict]) -> None:
        """Keep, per instance, the predicted and ground-truth keypoints
        ``(K, 2)``, the visibility flags ``(K,)`` and the normaliser ``s``."""
        for sample in data_samples:
            gt = sample['gt_instances']
            self.results.append(dict(
                pred=np.asarray(sample['pred_instances']['keypoints'])[0, :, :2],
                gt=np.asarray(gt['keypoints'])[0, :, :2],
                flags=self._flags(sample),
                norm=self._norm(gt)))

    def _bones(self) -> list[tuple[int, int]]:
        if self.skeleton is not None:
            return self.skeleton
        links = (self.dataset_meta or {}).get('skeleton_links')
        if not links:
            raise KeyError("OcclusionPCKMetric: the dataset meta has no 'skeleton_links'; "
                           'pass skeleton=[(a, b), ...]')
        return [tuple(b) for b in links]

    def compute_metrics(self, results: list) -> dict:
        pred = np.stack([r['pred'] for r in results])  # (N, K, 2)
        gt = np.stack([r['gt'] for r in results])
        flags = np.stack([r['flags'] for r in results])  # (N, K)
        norm = np.array([r['norm'] for r in results])  # (N,)
        if flags.shape != pred.shape[:2]:
            raise ValueError(f'OcclusionPCKMetric: {flags.shape[1]} visibility flags for '
                             f'{pred.shape[1]} keypoints')
        dist = np.linalg.norm(pred - gt, axis=-1) / np.maximum(norm, 1e-6)[:, None]
        correct = dist <= self.thr
        metrics = {}
        for name, sel in (('PCK', flags > 0), ('PCK_visible', flags == 2),
                          ('PCK_occluded', flags == 1)):
            metrics[name] = float(correct[sel].mean()) if sel.any() else float('nan')
        metrics['num_visible'] = int((flags == 2).sum())
        metrics['num_occluded'] = int((flags == 1).sum())

        judged = np.zeros(len(results), bool)
        bad = np.zeros(len(results), bool)
        bones_judged = bones_bad = 0
        low, high = self.bone_ratio
        for a, b in self._bones():
            gt_len = np.linalg.norm(gt[:, a] - gt[:, b], axis=-1)
            ok = (flags[:, a] > 0) & (flags[:, b] > 0) & (gt_len >= self.min_bone_length * norm)
            ratio = np.linalg.norm(pred[:, a] - pred[:, b], axis=-1) / np.maximum(gt_len, 1e-6)
            out = ok & ((ratio < low) | (ratio > high))
            judged |= ok
            bad |= out
            bones_judged += int(ok.sum())
            bones_bad += int(out.sum())
        metrics['implausible_rate'] = (float(bad.sum() / judged.sum()) if judged.any()
                                       else float('nan'))
        metrics['implausible_bone_rate'] = (bones_bad / bones_judged if bones_judged
                                            else float('nan'))
        return metrics
