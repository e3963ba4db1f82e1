"""PCK hardness with hand-computed values: a person's PCK over annotated
joints inside the frame, harder-than, and the per-bin hardness targets."""
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData
from mmpose.structures import PoseDataSample

from hrgan_plugin.models.augmentation.hardness import (
    bin_hardness_targets,
    harder_than,
    pck_normaliser,
    person_pck,
    sample_keypoints,
)


def _pck_sample(kpts, visible, input_size=(100, 100), bbox=(0, 0, 50, 80), input_scale=200.0):
    s = PoseDataSample(metainfo=dict(input_size=input_size, input_scale=(input_scale, 0.0)))
    s.gt_instances = InstanceData(transformed_keypoints=np.array([kpts], dtype=np.float32),
                                  keypoints_visible=np.array([visible], dtype=np.float32),
                                  bboxes=np.array([bbox], dtype=np.float32))
    return s


def _pck(pred, sample, thr, norm, head_ids=None, ignore=()):
    kpts, vis, bbox_size = sample_keypoints([sample])
    size = pck_normaliser(kpts, vis, norm, head_ids, bbox_size)
    return person_pck(pred, kpts, vis, (100, 100), thr, size, ignore)


def test_person_pck_counts_annotated_joints_inside_the_frame():
    # joints 0, 1: upper neck (50, 40) and head top (50, 20): head size 20, so
    # an error <= 0.5 * 20 = 10 is correct
    gt = [[50, 40], [50, 20], [10, 10], [120, 50], [30, 30], [60, 60]]
    pred = torch.tensor([[[50, 45], [50, 40], [10, 21], [0, 0], [0, 0], [60, 60]]],
                        dtype=torch.float32)
    # joint 3 is outside the 100 x 100 frame, joint 4 unannotated, joint 5 ignored:
    # counted joints 0 (error 5, right), 1 (error 20, wrong), 2 (error 11, wrong)
    sample = _pck_sample(gt, [1, 1, 1, 1, 0, 1])
    assert _pck(pred, sample, 0.5, 'head', (0, 1), [5]).tolist() == [pytest.approx(1 / 3)]
    # moving the out-of-frame joint's prediction changes nothing
    pred[0, 3] = torch.tensor([120.0, 50.0])
    assert _pck(pred, sample, 0.5, 'head', (0, 1), [5]).tolist() == [pytest.approx(1 / 3)]
    # bbox norm: longer side 80 x (100 input px / 200 scale) = 40; 0.3 * 40 = 12:
    # joints 0, 2, 5 right of 0, 1, 2, 5
    assert sample_keypoints([sample])[2].tolist() == [40.0]
    assert _pck(pred, sample, 0.3, 'bbox').tolist() == [0.75]
    # nothing to count, or no head size (head top unannotated): NaN
    none = _pck_sample([[-5, 10]] * 6, [1] * 6)
    assert torch.isnan(_pck(pred, none, 0.5, 'bbox')).all()
    headless = _pck_sample(gt, [1, 0, 1, 1, 1, 1])
    assert torch.isnan(_pck(pred, headless, 0.5, 'head', (0, 1))).all()


def test_harder_needs_a_lower_pck_than_the_reference():
    adv = torch.tensor([0.5, 0.5, 0.5, float('nan'), 0.2])
    ref = torch.tensor([0.75, 0.5, 0.25, 0.5, float('nan')])
    # harder only when strictly lower; ties and missing PCKs are not
    assert harder_than(adv, ref).tolist() == [True, False, False, False, False]


def test_bin_hardness_targets_are_normalised_errors():
    pck = torch.tensor([[1.0, 0.5, 0.0], [1.0, 1.0, 1.0], [float('nan'), 0.75, 0.5]])
    expected = torch.tensor([[0.0, 1 / 3, 2 / 3], [1 / 3] * 3, [0.0, 1 / 3, 2 / 3]])
    torch.testing.assert_close(bin_hardness_targets(pck), expected)
