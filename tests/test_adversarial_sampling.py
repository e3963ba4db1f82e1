"""How AdversarialAugmentationHook makes its samples, on a dataset whose image
encodes pixel coordinates (blue = x, green = y, red = 255): ASR re-crops the
original image (real content up to the borders), every adversarial draw has
its own independent random reference, and the stages run in order."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmcv.transforms import LoadImageFromFile
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmpose.datasets.transforms import GenerateTarget, GetBBoxCenterScale, PackPoseInputs
from mmpose.registry import HOOKS, MODELS
from utils import CODEC_128, REPO, AugmentationRunner, CoordinateDataset

from hrgan_plugin.datasets.pipeline_utils import pack_for_recrop
from hrgan_plugin.datasets.topdown_recrop import TopdownRecrop


@pytest.fixture
def dataset(tmp_path):
    ds = CoordinateDataset(str(tmp_path))
    pack_for_recrop(ds)
    return ds


def test_recrop_shows_the_original_image_up_to_the_borders(dataset):
    recrop = TopdownRecrop(dataset)
    sample = recrop.load_sample(3)
    # content scale 0.625: the 100-px box becomes 160 px around (100, 100), so
    # input pixel j (of 128) shows image pixel 100 + (j - 64) * 1.25
    img = recrop.crop(sample, 0.625, 0.0)['inputs']
    assert img.shape == (3, 128, 128)
    assert img[2].min() == 255  # image content everywhere, no zero fill
    assert (int(img[0, 0, 0]), int(img[1, 0, 0])) == (20, 20)
    assert (int(img[0, 100, 8]), int(img[1, 100, 8])) == (30, 145)
    # any scale and rotation: the pixel under each moved keypoint is the one
    # the keypoint marked in the original image
    for scale, rotation in ((1.0, 0.0), (1.4, 35.0), (0.7, -60.0)):
        packed = recrop.crop(sample, scale, rotation)
        moved = packed['data_samples'].gt_instances.transformed_keypoints[0]
        for (x, y), (ox, oy) in zip(moved, dataset.keypoints[3, 0]):
            if 1 <= x < 127 and 1 <= y < 127:
                px = packed['inputs'][:2, int(round(y)), int(round(x))].float()
                assert abs(px[0] - ox) <= 2 and abs(px[1] - oy) <= 2, (scale, rotation)


def test_recrop_names_a_missing_transform(tmp_path):
    ds = CoordinateDataset(str(tmp_path), steps=[LoadImageFromFile(), GetBBoxCenterScale(),
                                                 GenerateTarget(encoder=CODEC_128),
                                                 PackPoseInputs()])
    with pytest.raises(ValueError, match='need a TopdownAffine in the train pipeline'):
        TopdownRecrop(ds)


def _setup(dataset, tmp_path, **hook_args):
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'quickstart',
                                   'hrnet_synthetic-mpii_128x128.py'))
    model = MODELS.build(cfg.model)
    model.init_weights()
    hook = HOOKS.build(dict(type='AdversarialAugmentationHook', log_interval=1000, **hook_args))
    runner = AugmentationRunner(model, dataset, str(tmp_path))
    hook.before_train(runner)
    calls = []
    crop = hook.recrop.crop

    def spy(sample, scale, rotation):
        calls.append((sample['sample_idx'], scale, rotation))
        return crop(sample, scale, rotation)

    hook.recrop.crop = spy
    batch = pseudo_collate([dataset[i] for i in range(6)])
    return hook, runner, batch, calls


def test_joint_step_judges_each_draw_against_its_own_random_reference(dataset, tmp_path):
    torch.manual_seed(0)
    hook, runner, batch, calls = _setup(dataset, tmp_path, agent_pretrain_iters=0)
    before = list(batch['inputs'])
    hook.before_train_iter(runner, 0, batch)
    # 6 rows split 1:1:1: random 0-1, ASR 2-3, AHO 4-5
    canonical, adv_s, ref_s, adv_r, ref_r, train = (calls[i:i + 2] for i in range(0, 12, 2))
    assert len(calls) == 12 and [c[0] for c in calls] == [2, 3] * 6
    assert [c[1:] for c in canonical] == [(1.0, 0.0)] * 2  # the agent reads the canonical crop
    # scale-only against scale-only, rotation-only against rotation-only
    assert all(c[2] == 0.0 for c in adv_s + ref_s) and all(c[1] == 1.0 for c in adv_r + ref_r)
    # the training sample takes the drawn scale and rotation together
    assert [c[1:] for c in train] == [(s[1], r[2]) for s, r in zip(adv_s, adv_r)]
    # the references are random augmentations of their own: another scale
    # within 2^+-0.5, another rotation within +-60 (or none)
    for adv, ref in ((adv_s, ref_s), (adv_r, ref_r)):
        assert [a[1:] for a in adv] != [r[1:] for r in ref]
    assert all(abs(np.log2(r[1])) <= 0.5 + 1e-6 for r in ref_s)
    assert all(abs(r[2]) <= 60 for r in ref_r)
    # ASR rows now hold the re-crops; the others are untouched
    fresh = TopdownRecrop(dataset)
    for row, (idx, scale, rotation) in zip((2, 3), train):
        expected = fresh.crop(fresh.load_sample(idx), scale, rotation)
        assert batch['data_samples'][row].metainfo['sample_idx'] == idx
        torch.testing.assert_close(batch['inputs'][row], expected['inputs'], atol=1, rtol=0)
    assert all(batch['inputs'][r] is before[r] for r in (0, 1, 4, 5))
    rows, masks = hook._masks  # AHO's masks, armed for the training forward
    assert rows.tolist() == [4, 5] and masks.shape == (2, 1, 4, 4)
    assert all(1 <= int((m == 0).sum()) <= 2 for m in masks)
    hook.after_train_iter(runner, 0, batch)
    assert hook._masks is None
    assert 0.0 <= runner.message_hub.get_scalar('train/aug_harder').current() <= 1.0


def test_stages_pose_then_frozen_agent_pretraining_then_joint(dataset, tmp_path):
    torch.manual_seed(0)
    hook, runner, batch, calls = _setup(dataset, tmp_path, pose_pretrain_epochs=1,
                                        agent_pretrain_iters=1)
    model = runner.model
    before = list(batch['inputs'])
    # stage 1: plain training, the hook does nothing
    assert hook.stage(runner) == 'pose'
    hook.before_train_iter(runner, 0, batch)
    assert not calls and 'train_step' not in vars(model)
    assert all(a is b for a, b in zip(batch['inputs'], before))
    # stage 2: per-image targets at the bin centres, pose net frozen
    runner.epoch = 1
    assert hook.stage(runner) == 'agent'
    pose_weights = {k: v.clone() for k, v in model.state_dict().items()}
    hook.before_train_iter(runner, 0, batch)
    scales = [2 ** e for e in np.linspace(-0.6, 0.6, 7)]
    angles = [float(a) for a in np.linspace(-60, 60, 9)]
    assert [c[1:] for c in calls[:6]] == [(1.0, 0.0)] * 6  # canonical crops
    renders = calls[6:]
    assert len(renders) == 6 * 16
    expected = [(s, 0.0) for s in scales] + [(1.0, a) for a in angles]
    np.testing.assert_allclose([c[1:] for c in renders[:16]], expected, atol=1e-5)
    outputs = model.train_step(batch, optim_wrapper=None)  # the frozen step
    assert set(outputs) == {'aug_kl'} and float(outputs['aug_kl']) > 0
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, pose_weights[k], msg=k)
    hook.after_train_iter(runner, 0, batch, outputs)
    assert 'train_step' not in vars(model)
    for scale_t, rot_t in hook._bin_targets.values():
        assert scale_t.shape == (7,) and rot_t.shape == (9,)
        assert float(scale_t.sum()) == pytest.approx(1) and float(rot_t.sum()) == pytest.approx(1)
    assert sorted(hook._bin_targets) == list(range(6))
    # the AHO target: all 6 x 16 joints of the canonical crops (input pixel =
    # (x - 50) * 1.28) counted over the 4 x 4 grid of 32-pixel cells, + 1e-3
    cells = np.floor((dataset.keypoints[:, 0] - 50) * 1.28 / 32).astype(int)
    counts = np.bincount((cells[..., 1] * 4 + cells[..., 0]).ravel(), minlength=16) / 96 + 1e-3
    np.testing.assert_allclose(hook._joint_histogram().numpy(), counts / counts.sum(),
                               atol=1e-6)
    # stage 3
    assert hook.agent_pretrain_done == 1 and hook.stage(runner) == 'joint'


def test_pose_pretraining_in_epochs_needs_an_epoch_based_loop(dataset, tmp_path):
    from mmengine.runner import IterBasedTrainLoop
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'quickstart',
                                   'hrnet_synthetic-mpii_128x128.py'))
    runner = AugmentationRunner(MODELS.build(cfg.model), dataset, str(tmp_path))
    runner.train_loop = IterBasedTrainLoop.__new__(IterBasedTrainLoop)
    hook = HOOKS.build(dict(type='AdversarialAugmentationHook', pose_pretrain_epochs=2))
    with pytest.raises(ValueError, match='pose_pretrain_epochs=2 needs an epoch-based train loop'):
        hook.before_train(runner)


def test_joint_judging_trains_on_the_judged_crop(dataset, tmp_path):
    """separate_scale_rotation=False: each draw (scale and rotation together)
    against a random scale and rotation; the judged crop is the training one."""
    torch.manual_seed(0)
    hook, runner, batch, calls = _setup(dataset, tmp_path, agent_pretrain_iters=0,
                                        separate_scale_rotation=False)
    hook.before_train_iter(runner, 0, batch)
    canonical, adv, ref = (calls[i:i + 2] for i in range(0, 6, 2))
    assert len(calls) == 6 and [c[1:] for c in canonical] == [(1.0, 0.0)] * 2
    assert [a[1:] for a in adv] != [r[1:] for r in ref]
    fresh = TopdownRecrop(dataset)
    for row, (idx, scale, rotation) in zip((2, 3), adv):
        expected = fresh.crop(fresh.load_sample(idx), scale, rotation)
        torch.testing.assert_close(batch['inputs'][row], expected['inputs'], atol=1, rtol=0)
