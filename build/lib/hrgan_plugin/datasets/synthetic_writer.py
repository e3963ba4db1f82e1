"""Write the synthetic figures as COCO- and MPII-format keypoint datasets.

Layout under ``out_dir``::

    images/train/000000000001.jpg ...   images/val/...
    annotations/coco_train.json         COCO person keypoints (17)
    annotations/coco_val.json
    annotations/mpii_train.json         MPII joints (16), centre/scale
    annotations/mpii_val.json
    annotations/mpii_gt_val.mat         head boxes for ``MpiiPCKAccuracy``

MPII entries carry, besides MPII's own keys, ``joints_visibility``: COCO's
0/1/2 flags (1 = labelled but hidden), read by ``OcclusionPCKMetric``.

Image ids are unique across splits (val ids start after the train ids), and
every image is rendered from its own seed ``(seed, image_id)``, so any subset
of the dataset is reproducible on its own.
"""
from __future__ import annotations

import json
import os
import os.path as osp
from dataclasses import replace
from typing import Optional

import cv2
import numpy as np
from scipy.io import savemat

from .synthetic_figures import COCO_INDICES, MPII_INDICES, PRESETS, Figure, render_image

COCO_KEYPOINT_NAMES = (
    'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder',
    'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist',
    'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle')
COCO_SKELETON = [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13],
                 [6, 7], [6, 8], [7, 9], [8, 10], [9, 11], [2, 3], [1, 2], [1, 3],
                 [2, 4], [3, 5], [4, 6], [5, 7]]
MIN_VISIBLE = 4  # figures with fewer labelled keypoints are not annotated


def to_coco_keypoints(fig: Figure) -> list[float]:
    """Flattened ``[x, y, v] * 17`` list in COCO order (unlabelled -> 0, 0, 0)."""
    out = []
    for i in COCO_INDICES:
        v = int(fig.visible[i])
        x, y = (float(fig.joints[i, 0]), float(fig.joints[i, 1])) if v else (0.0, 0.0)
        out += [round(x, 2), round(y, 2), v]
    return out


def to_mpii_joints(fig: Figure) -> tuple[list[list[float]], list[int], list[int]]:
    """``(joints (16, 2), joints_vis (16,), visibility (16,))`` in MPII order.

    Hidden joints keep their position and count as labelled in ``joints_vis``,
    as in MPII's annotations; ``visibility`` keeps COCO's 0/1/2 flags so that
    occluded joints can be scored apart.
    """
    joints, vis, flags = [], [], []
    for i in MPII_INDICES:
        v = int(fig.visible[i] > 0)
        joints.append([round(float(fig.joints[i, 0]), 2), round(float(fig.joints[i, 1]), 2)]
                      if v else [-1.0, -1.0])
        vis.append(v)
        flags.append(int(fig.visible[i]))
    return joints, vis, flags


def _coco_json(images: list[dict], figures: list[list[Figure]]) -> dict:
    anns = []
    for img, figs in zip(images, figures):
        for fig in figs:
            kpts = to_coco_keypoints(fig)
            n = sum(1 for v in kpts[2::3] if v > 0)
            if n < MIN_VISIBLE:
                continue
            anns.append(dict(
                id=len(anns) + 1, image_id=img['id'], category_id=1, iscrowd=0,
                bbox=[round(v, 2) for v in fig.bbox], area=fig.area,
                keypoints=kpts, num_keypoints=n))
    return dict(
        info=dict(description='hrgan_plugin synthetic figures'),
        images=images, annotations=anns,
        categories=[dict(id=1, name='person', supercategory='person',
                         keypoints=list(COCO_KEYPOINT_NAMES), skeleton=COCO_SKELETON)])


def _mpii_entries(images: list[dict], figures: list[list[Figure]]) -> tuple[list, np.ndarray]:
    entries, head_boxes = [], []
    for img, figs in zip(images, figures):
        for fig in figs:
            joints, vis, flags = to_mpii_joints(fig)
            if sum(vis) < MIN_VISIBLE:
                continue
            x, y, w, h = fig.bbox
            scale = max(w, h) / 200.0
            # MpiiDataset shifts the centre down by 15 * scale px and converts
            # it from 1-based to 0-based; undo both so it lands on the box centre.
            centre = [x + w / 2 + 1.0, y + h / 2 - 15.0 * scale + 1.0]
            entries.append(dict(image=img['file_name'], center=[round(c, 2) for c in centre],
                                scale=round(scale, 4), joints=joints, joints_vis=vis,
                                joints_visibility=flags))
            x1, y1, x2, y2 = fig.head_box
            head_boxes.append([[x1, y1], [x2, y2]])
    # MPII stores head boxes as (2, 2, N): [corner, xy, instance].
    boxes = np.transpose(np.asarray(head_boxes, np.float64).reshape(-1, 2, 2), (1, 2, 0))
    return entries, boxes


def write_synthetic_dataset(out_dir: str, num_train: int = 1000, num_val: int = 150,
                            seed: int = 0, image_size: int = 256,
                            max_people: Optional[int] = None, jpeg_quality: int = 92,
                            preset: str = 'default') -> dict:
    """Render and write the dataset; returns counts per split.

    Args:
        preset (str): a key of :data:`PRESETS` (``'default'``, ``'occlusion'``).
        max_people (int, optional): overrides the preset's figures per image.

    Returns:
        dict: per split, ``images``, ``coco_instances``, ``mpii_instances``
        and ``keypoints`` (labelled COCO keypoints, v > 0) and ``hidden``
        (of those, v = 1).
    """
    if preset not in PRESETS:
        raise ValueError(f'unknown preset {preset!r}; choose from {sorted(PRESETS)}')
    settings = PRESETS[preset]
    if max_people is not None:
        settings = replace(settings, max_people=max_people)
    ann_dir = osp.join(out_dir, 'annotations')
    os.makedirs(ann_dir, exist_ok=True)
    counts = {}
    next_id = 1
    for split, num in (('train', num_train), ('val', num_val)):
        img_dir = osp.join(out_dir, 'images', split)
        os.makedirs(img_dir, exist_ok=True)
        images, figures = [], []
        for image_id in range(next_id, next_id + num):
            rng = np.random.default_rng([seed, image_id])
            img, figs = render_image(rng, size=image_size, preset=settings)
            file_name = f'{image_id:012d}.jpg'
            cv2.imwrite(osp.join(img_dir, file_name), img,
                        [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
            images.append(dict(id=image_id, file_name=file_name, width=image_size,
                               height=image_size))
            figures.append(figs)
        next_id += num
        coco = _coco_json(images, figures)
        with open(osp.join(ann_dir, f'coco_{split}.json'), 'w') as f:
            json.dump(coco, f)
        entries, head_boxes = _mpii_entries(images, figures)
        with open(osp.join(ann_dir, f'mpii_{split}.json'), 'w') as f:
            json.dump(entries, f)
        if split == 'val':
            savemat(osp.join(ann_dir, 'mpii_gt_val.mat'), dict(headboxes_src=head_boxes))
        flags = [v for ann in coco['annotations'] for v in ann['keypoints'][2::3] if v > 0]
        counts[split] = dict(images=num, coco_instances=len(coco['annotations']),
                             mpii_instances=len(entries), keypoints=len(flags),
                             hidden=flags.count(1))
    return counts
