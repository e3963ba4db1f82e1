"""OcclusionPCKMetric on hand-made predictions with known answers, and its
visibility flags read through mmpose's COCO and MPII datasets."""
import json
import math
import os.path as osp

import numpy as np
import pytest

from hrgan_plugin.evaluation import OcclusionPCKMetric

GT = [[10, 10], [40, 10], [70, 10], [90, 10]]
SKELETON = [(0, 1), (1, 2), (2, 3)]


def _sample(pred, gt, flags, bbox=(0, 0, 100, 50), **extra) -> dict:
    return dict(pred_instances=dict(keypoints=np.array([pred], float)),
                gt_instances=dict(keypoints=np.array([gt], float),
                                  bboxes=np.array([bbox], float)),
                raw_ann_info=dict(keypoints=[c for (x, y), v in zip(gt, flags)
                                             for c in (x, y, v)]), **extra)


def _evaluate(metric: OcclusionPCKMetric, samples: list) -> dict:
    metric.process([], samples)
    return metric.evaluate(len(samples))


def test_hand_made_instances():
    """s = 100 px (box 100 x 50), thr 0.2: a keypoint is correct within 20 px.

    1: flags 2,2,1,1; errors 0, 25, 5, 30 px -> visible 1/2, occluded 1/2;
       bone lengths 39.1/30, 43.0/30, 33.5/20: all within [0.5, 2].
    2: flags 2,0,2,1; only keypoint 3 off (19 px, correct) -> visible 2/2,
       occluded 1/1; bone (2, 3) shrinks from 20 to 1 px: implausible.
    3: flags 2,2,0,0; keypoint 1 18 px off (correct); its bone is 2 px long
       (< 0.05 s = 5 px) and is not judged, so the instance has no judged bone.
    """
    samples = [
        _sample([[10, 10], [40, 35], [75, 10], [90, 40]], GT, [2, 2, 1, 1]),
        _sample([[10, 10], [40, 10], [70, 10], [71, 10]], GT, [2, 0, 2, 1]),
        _sample([[10, 10], [30, 10], [0, 0], [0, 0]], [[10, 10], [12, 10], [0, 0], [0, 0]],
                [2, 2, 0, 0]),
    ]
    res = _evaluate(OcclusionPCKMetric(thr=0.2, skeleton=SKELETON), samples)
    assert res['occlusion/PCK_visible'] == pytest.approx(5 / 6)
    assert res['occlusion/PCK_occluded'] == pytest.approx(2 / 3)
    assert res['occlusion/PCK'] == pytest.approx(7 / 9)
    assert res['occlusion/num_visible'] == 6 and res['occlusion/num_occluded'] == 3
    assert res['occlusion/implausible_rate'] == pytest.approx(1 / 2)
    # judged bones: 3 of instance 1 (in range), 1 of instance 2 (out)
    assert res['occlusion/implausible_bone_rate'] == pytest.approx(1 / 4)


def test_threshold_bone_range_and_skeleton_from_meta():
    # keypoint 1 is 25 px off: wrong at thr 0.2, right at thr 0.3
    s = _sample([[10, 10], [40, 35], [70, 10], [90, 10]], GT, [2, 2, 2, 2])
    metric = OcclusionPCKMetric(thr=0.3, bone_ratio=(0.9, 1.1))
    metric.dataset_meta = dict(skeleton_links=SKELETON)
    res = _evaluate(metric, [s])
    assert res['occlusion/PCK_visible'] == 1.0
    assert math.isnan(res['occlusion/PCK_occluded'])  # no occluded keypoint
    # bone (0, 1) is 39.1 / 30 = 1.30 times its length: outside [0.9, 1.1]
    assert res['occlusion/implausible_rate'] == 1.0
    # bone (1, 2) is 39.1 / 30 too; bone (2, 3) keeps its 20 px
    assert res['occlusion/implausible_bone_rate'] == pytest.approx(2 / 3)


def test_head_normalisation_and_flags_from_mpii_file(tmp_path):
    ann = tmp_path / 'mpii_val.json'
    ann.write_text(json.dumps([dict(joints_visibility=[2, 2, 2, 2]),
                               dict(joints_visibility=[2, 1, 1, 0])]))
    metric = OcclusionPCKMetric(thr=0.5, norm_item='head', ann_file=str(ann),
                                skeleton=SKELETON)

    def head_sample(pred, idx):
        return dict(id=idx, pred_instances=dict(keypoints=np.array([pred], float)),
                    gt_instances=dict(keypoints=np.array([GT], float),
                                      head_size=np.array([10.0])))

    # head size 10 px: correct within 5 px; sample 1: keypoint 2 is 6 px off
    res = _evaluate(metric, [head_sample(GT, 0),
                             head_sample([[10, 10], [44, 10], [76, 10], [0, 0]], 1)])
    assert res['occlusion/PCK_visible'] == 1.0  # 4 + 1 visible, all right
    assert res['occlusion/PCK_occluded'] == pytest.approx(1 / 2)
    # sample 1: bone (1, 2) is 32 / 30 long: plausible
    assert res['occlusion/implausible_rate'] == 0.0
    assert res['occlusion/implausible_bone_rate'] == 0.0


def test_bad_settings_are_named(tmp_path):
    with pytest.raises(ValueError, match='norm_item'):
        OcclusionPCKMetric(norm_item='torso')
    bad = tmp_path / 'coco.json'
    bad.write_text(json.dumps(dict(images=[])))
    with pytest.raises(KeyError, match='coco.json'):
        OcclusionPCKMetric(ann_file=str(bad))
    metric = OcclusionPCKMetric(skeleton=SKELETON)
    s = _sample(GT, GT, [2, 2, 2, 2])
    del s['raw_ann_info']
    with pytest.raises(KeyError, match='joints_visibility'):
        _evaluate(metric, [s])


@pytest.mark.parametrize('fmt', ['coco', 'mpii'])
def test_ground_truth_scores_perfectly_through_mmpose_datasets(synthetic_root, fmt):
    """Ground truth fed back as predictions through mmpose's own dataset
    classes: PCK 1 everywhere, no implausible pose, and the visibility flags
    reach the metric (the hidden count matches the annotation file)."""
    from mmpose.datasets import CocoDataset, MpiiDataset
    ann_dir = osp.join(synthetic_root, 'annotations')
    if fmt == 'coco':
        ds = CocoDataset(data_root=synthetic_root, ann_file='annotations/coco_val.json',
                         data_prefix=dict(img='images/val/'), test_mode=True, pipeline=[])
        with open(osp.join(ann_dir, 'coco_val.json')) as f:
            hidden = sum(a['keypoints'][2::3].count(1) for a in json.load(f)['annotations'])
        metric = OcclusionPCKMetric()
    else:
        ds = MpiiDataset(data_root=synthetic_root, ann_file='annotations/mpii_val.json',
                         headbox_file=osp.join(ann_dir, 'mpii_gt_val.mat'),
                         data_prefix=dict(img='images/val/'), test_mode=True, pipeline=[])
        with open(osp.join(ann_dir, 'mpii_val.json')) as f:
            hidden = sum(e['joints_visibility'].count(1) for e in json.load(f))
        metric = OcclusionPCKMetric(thr=0.5, norm_item='head',
                                    ann_file=osp.join(ann_dir, 'mpii_val.json'))
    metric.dataset_meta = ds.metainfo
    samples = []
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        gt = dict(keypoints=info['keypoints'], bboxes=info['bbox'])
        if fmt == 'mpii':
            gt['head_size'] = np.array([info['head_size']])
        samples.append(dict(id=info['id'], raw_ann_info=info.get('raw_ann_info'),
                            pred_instances=dict(keypoints=info['keypoints']),
                            gt_instances=gt))
    res = _evaluate(metric, samples)
    assert hidden > 0
    assert res['occlusion/num_occluded'] == hidden
    assert res['occlusion/PCK'] == res['occlusion/PCK_occluded'] == 1.0
    assert res['occlusion/implausible_rate'] == 0.0
