"""The embedded synthetic dataset: determinism, COCO validity (xtcocotools),
MPII loading through mmpose's MpiiDataset with the generated head boxes."""
import json
import os.path as osp

import numpy as np
import pytest

from hrgan_plugin.datasets import write_synthetic_dataset
from hrgan_plugin.datasets.synthetic_figures import MPII_INDICES, J, render_image
from hrgan_plugin.datasets.synthetic_writer import to_coco_keypoints, to_mpii_joints


def test_render_is_deterministic_and_labels_are_consistent():
    img_a, figs_a = render_image(np.random.default_rng([0, 7]), size=128)
    img_b, figs_b = render_image(np.random.default_rng([0, 7]), size=128)
    assert img_a.shape == (128, 128, 3) and img_a.dtype == np.uint8
    np.testing.assert_array_equal(img_a, img_b)
    assert len(figs_a) == len(figs_b) >= 1
    for fa, fb in zip(figs_a, figs_b):
        np.testing.assert_array_equal(fa.joints, fb.joints)
        np.testing.assert_array_equal(fa.visible, fb.visible)
        inside = np.all((fa.joints >= 0) & (fa.joints <= 127), axis=1)
        # labelled joints lie in the image; joints outside are unlabelled
        assert np.all(inside[fa.visible > 0])
        assert not np.any(fa.visible[~inside])
        x, y, w, h = fa.bbox
        assert w > 0 and h > 0 and 0 < fa.area <= w * h
        # the bbox covers every labelled body joint (face points sit on the head)
        pts = fa.joints[fa.visible > 0]
        assert np.all(pts >= np.array([x, y]) - 2) and np.all(pts <= np.array([x + w, y + h]) + 2)


def test_keypoint_format_conversion():
    _, figs = render_image(np.random.default_rng([1, 2]), size=160)
    fig = figs[0]
    coco = np.array(to_coco_keypoints(fig)).reshape(17, 3)
    for i in range(17):
        if fig.visible[i]:
            np.testing.assert_allclose(coco[i, :2], fig.joints[i], atol=0.01)
            assert coco[i, 2] == fig.visible[i]
        else:
            assert tuple(coco[i]) == (0, 0, 0)
    joints, vis, flags = to_mpii_joints(fig)
    assert len(joints) == len(vis) == len(flags) == 16
    assert flags == [int(fig.visible[i]) for i in MPII_INDICES]
    assert vis == [int(f > 0) for f in flags]
    # MPII index 9 is head_top, 6 pelvis, 0 right ankle
    assert MPII_INDICES[9] == J['head_top'] and MPII_INDICES[6] == J['pelvis']
    assert MPII_INDICES[0] == J['right_ankle']
    if vis[9]:
        np.testing.assert_allclose(joints[9], fig.joints[J['head_top']], atol=0.01)


def test_left_right_follows_facing():
    """A front-facing upright figure has its left shoulder on the image right."""
    from hrgan_plugin.datasets.synthetic_figures import sample_pose
    for seed in range(20):
        pts, facing, _ = sample_pose(np.random.default_rng(seed), 100.0)
        dx = pts[J['left_shoulder'], 0] - pts[J['right_shoulder'], 0]
        assert np.sign(dx) == np.sign(facing)


def test_dataset_is_reproducible(tmp_path):
    a, b = tmp_path / 'a', tmp_path / 'b'
    ca = write_synthetic_dataset(str(a), num_train=6, num_val=3, seed=5, image_size=128)
    cb = write_synthetic_dataset(str(b), num_train=6, num_val=3, seed=5, image_size=128)
    assert ca == cb
    for name in ('coco_train.json', 'coco_val.json', 'mpii_train.json', 'mpii_val.json'):
        assert (a / 'annotations' / name).read_bytes() == (b / 'annotations' / name).read_bytes()
    img = 'images/val/000000000008.jpg'
    assert (a / img).read_bytes() == (b / img).read_bytes()


def test_coco_annotations_are_valid_for_xtcocotools(synthetic_root):
    from xtcocotools.coco import COCO
    from xtcocotools.cocoeval import COCOeval
    ann = osp.join(synthetic_root, 'annotations', 'coco_val.json')
    coco = COCO(ann)
    assert coco.getCatIds() == [1]
    assert len(coco.getImgIds()) == 12
    anns = coco.loadAnns(coco.getAnnIds())
    assert len(anns) >= 12
    occluded = 0
    for a in anns:
        k = np.array(a['keypoints']).reshape(17, 3)
        assert a['num_keypoints'] == int((k[:, 2] > 0).sum()) >= 4
        occluded += int((k[:, 2] == 1).sum())
        img = coco.imgs[a['image_id']]
        assert osp.isfile(osp.join(synthetic_root, 'images', 'val', img['file_name']))
    assert occluded > 0, 'some keypoints should be hidden by occluders or other people'
    # ground truth scored against itself gives a perfect OKS AP
    dets = [dict(image_id=a['image_id'], category_id=1, keypoints=a['keypoints'], score=1.0)
            for a in anns]
    ev = COCOeval(coco, coco.loadRes(dets), 'keypoints', use_area=True)
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)


def test_mpii_annotations_load_in_mmpose(synthetic_root):
    from mmpose.datasets import MpiiDataset
    ds = MpiiDataset(
        data_root=synthetic_root, ann_file='annotations/mpii_val.json',
        headbox_file=osp.join(synthetic_root, 'annotations', 'mpii_gt_val.mat'),
        data_prefix=dict(img='images/val/'), test_mode=True, pipeline=[])
    with open(osp.join(synthetic_root, 'annotations', 'mpii_val.json')) as f:
        raw = json.load(f)
    assert len(ds) == len(raw) > 0
    info = ds[0]
    assert info['keypoints'].shape == (1, 16, 2)
    assert info['head_size'].shape == (1, 1) and info['head_size'][0, 0] > 1.0
    # mmpose's centre/scale conventions put the box centre back on the figure
    joints = np.array(raw[0]['joints'])[np.array(raw[0]['joints_vis']) > 0]
    x1, y1, x2, y2 = info['bbox'][0]
    assert np.all((joints >= [x1, y1]) & (joints <= [x2, y2]))


def test_occlusion_preset_hides_a_third_of_the_keypoints(tmp_path):
    """The occlusion preset hides 25-40% of the labelled keypoints (the
    default data about 10%) and writes COCO's 0/1/2 flags into the MPII json."""
    counts = write_synthetic_dataset(str(tmp_path / 'occ'), num_train=40, num_val=4, seed=1,
                                     image_size=192, preset='occlusion')
    default = write_synthetic_dataset(str(tmp_path / 'def'), num_train=40, num_val=4, seed=1,
                                      image_size=192)
    share = counts['train']['hidden'] / counts['train']['keypoints']
    assert 0.25 <= share <= 0.40, share
    assert default['train']['hidden'] / default['train']['keypoints'] < 0.2
    assert counts['train']['coco_instances'] > default['train']['coco_instances']
    with open(tmp_path / 'occ' / 'annotations' / 'mpii_train.json') as f:
        entry = json.load(f)[0]
    assert entry['joints_vis'] == [int(v > 0) for v in entry['joints_visibility']]
    with pytest.raises(ValueError, match="unknown preset 'foggy'"):
        write_synthetic_dataset(str(tmp_path / 'x'), num_train=1, num_val=1, preset='foggy')
