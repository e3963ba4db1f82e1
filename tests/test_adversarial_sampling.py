"""How AdversarialAugmentationHook makes its samples, on a dataset whose image
encodes pixel coordinates (blue = x, green = y, red = 255): the loader cuts a
context of the original image, the hook warps it on the model's device into
the crop a cv2 re-crop of the original image gives (real content up to the
borders), every adversarial draw has its own independent random reference,
and the stages run in order."""
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
from hrgan_plugin.datasets.transforms import RecropContext
from hrgan_plugin.models.augmentation import ContextWarp


@pytest.fixture
def dataset(tmp_path):
    ds = CoordinateDataset(str(tmp_path))
    pack_for_recrop(ds)
    return ds


def assert_same_crop(warped: torch.Tensor, reference: torch.Tensor) -> None:
    """A tensor warp of the context against a cv2 re-crop of the original
    image: the coordinate image is linear, so two bilinear resamplings agree
    with one up to rounding, except along the image's edge, where each
    interpolates with the zero fill at its own resolution."""
    inside = (reference[2] == 255) & (warped[2] == 255)  # red: image content in both
    diff = (warped[:2].int() - reference[:2].int()).abs()[:, inside]
    assert inside.float().mean() > 0.5
    assert diff.max() <= 1, diff.max()


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


def test_context_warp_equals_a_cv2_recrop_of_the_original_image(dataset):
    """Every scale and rotation the bins and references allow: the same
    keypoints (to float precision) and the same pixels."""
    recrop = TopdownRecrop(dataset)
    cut = RecropContext((128, 128), min_scale=2 ** -0.65, zoom=2 ** 0.65)
    assert cut.side == int(np.ceil(2 ** 0.65 * 128 * 2 ** 0.5 / 2 ** -0.65)) + 2
    warp = ContextWarp((128, 128), cut.side, cut.zoom)
    for idx in (0, 3):
        sample = recrop.load_sample(idx)
        ctx = cut(dict(sample))['recrop_context']
        assert ctx['img'].dtype == torch.uint8 and ctx['img'].shape == (3, cut.side, cut.side)
        for scale, rotation in ((1.0, 0.0), (1.4, 35.0), (2 ** 0.65, -12.0), (2 ** -0.65, 60.0),
                                (0.8, -60.0)):
            ref = recrop.crop(sample, scale, rotation)
            s, r = torch.tensor([scale]), torch.tensor([rotation])
            torch.testing.assert_close(
                warp.keypoints(ctx['keypoints'][None], s, r)[0],
                torch.as_tensor(ref['data_samples'].gt_instances.transformed_keypoints[0]),
                atol=1e-3, rtol=0)
            assert_same_crop(warp.crops(ctx['img'][None], s, r)[0], ref['inputs'])


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
    assert type(dataset.pipeline.transforms[2]).__name__ == 'RecropContext'
    calls = []
    crops = hook.warp.crops

    def spy(contexts, scale, angle):  # one entry per kind of crop in a batched warp
        for s, a in zip(scale.view(-1, len(contexts)), angle.view(-1, len(contexts))):
            calls.append(list(zip(s.tolist(), a.tolist())))
        return crops(contexts, scale, angle)

    hook.warp.crops = spy
    batch = pseudo_collate([dataset[i] for i in range(6)])
    return hook, runner, batch, calls


def test_joint_step_judges_each_draw_against_its_own_random_reference(dataset, tmp_path):
    torch.manual_seed(0)
    hook, runner, batch, calls = _setup(dataset, tmp_path, agent_pretrain_iters=0)
    before = list(batch['inputs'])
    hook.before_train_iter(runner, 0, batch)
    # 6 rows split 1:1:1: random 0-1, ASR 2-3, AHO 4-5; one batched warp per kind
    canonical, adv_s, ref_s, adv_r, ref_r, train = calls
    assert all(len(c) == 2 for c in calls)
    assert canonical == [(1.0, 0.0)] * 2  # the agent reads the canonical crop
    # scale-only against scale-only, rotation-only against rotation-only
    assert all(c[1] == 0.0 for c in adv_s + ref_s) and all(c[0] == 1.0 for c in adv_r + ref_r)
    # the training sample takes the drawn scale and rotation together
    np.testing.assert_allclose(train, [(s[0], r[1]) for s, r in zip(adv_s, adv_r)], rtol=1e-6)
    # the references are random augmentations of their own: another scale
    # within 2^+-0.5, another rotation within +-60 (or none)
    for adv, ref in ((adv_s, ref_s), (adv_r, ref_r)):
        assert adv != ref
    assert all(abs(np.log2(r[0])) <= 0.5 + 1e-6 for r in ref_s)
    assert all(abs(r[1]) <= 60 for r in ref_r)
    # ASR rows now hold the re-crops (as a cv2 re-crop of the original image,
    # with the targets of the pipeline's codec); the others are untouched
    fresh = TopdownRecrop(dataset)
    for row, (scale, rotation) in zip((2, 3), train):
        expected = fresh.crop(fresh.load_sample(row), scale, rotation)
        sample, want = batch['data_samples'][row], expected['data_samples']
        assert sample.metainfo['sample_idx'] == row and sample.metainfo['flip'] is False
        for key in ('input_center', 'input_scale'):  # the re-crop's box
            np.testing.assert_allclose(sample.metainfo[key], want.metainfo[key], rtol=1e-5)
        np.testing.assert_allclose(sample.metainfo['bbox_rotation'], [rotation], rtol=1e-6)
        assert_same_crop(batch['inputs'][row], expected['inputs'])
        torch.testing.assert_close(sample.gt_fields.heatmaps, want.gt_fields.heatmaps,
                                   atol=2e-3, rtol=0)
        torch.testing.assert_close(sample.gt_instance_labels.keypoint_weights,
                                   want.gt_instance_labels.keypoint_weights)
    assert all(batch['inputs'][r] is before[r] for r in (0, 1, 4, 5))
    rows, masks = hook.taps.masks  # AHO's masks, armed for the training forward
    assert rows.tolist() == [4, 5] and masks.shape == (2, 1, 4, 4)
    assert all(1 <= int((m == 0).sum()) <= 2 for m in masks)
    hook.after_train_iter(runner, 0, batch)
    assert hook.taps.masks is None
    assert 0.0 <= runner.message_hub.get_scalar('train/aug_harder').current() <= 1.0


def test_stages_pose_then_frozen_agent_pretraining_then_joint(dataset, tmp_path):
    torch.manual_seed(0)
    hook, runner, batch, calls = _setup(dataset, tmp_path, pose_pretrain_epochs=1,
                                        agent_pretrain_iters=1)
    model = runner.model
    before = list(batch['inputs'])
    # stage 1: plain training, the hook does nothing
    assert hook.stage(runner) == 'pose'
    hook.before_train_epoch(runner)
    hook.before_train_iter(runner, 0, batch)
    assert not calls and all(a is b for a, b in zip(batch['inputs'], before))
    # stage 2, before the next epoch: per-image targets at the bin centres,
    # pose net frozen, no runner iteration
    runner.epoch = 1
    assert hook.stage(runner) == 'agent'
    pose_weights = {k: v.clone() for k, v in model.state_dict().items()}
    hook.before_train_epoch(runner)
    scales = [2 ** e for e in np.linspace(-0.6, 0.6, 7)]
    angles = [float(a) for a in np.linspace(-60, 60, 9)]
    assert calls[0] == [(1.0, 0.0)] * 6  # canonical crops of the agent's batch
    renders = calls[1:]
    assert len(renders) == 16 and all(len(c) == 6 for c in renders)  # bin-major
    expected = [(s, 0.0) for s in scales] + [(1.0, a) for a in angles]
    np.testing.assert_allclose([c[0] for c in renders], expected, atol=1e-5)
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, pose_weights[k], msg=k)
    assert runner.iter == 0 and model.training
    assert float(runner.message_hub.get_scalar('train/aug_kl').current()) > 0
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
    calls.clear()
    hook.before_train_epoch(runner)  # nothing more to pre-train
    assert not calls


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
    canonical, adv, ref = calls
    assert canonical == [(1.0, 0.0)] * 2 and adv != ref
    fresh = TopdownRecrop(dataset)
    for row, (scale, rotation) in zip((2, 3), adv):
        expected = fresh.crop(fresh.load_sample(row), scale, rotation)
        assert_same_crop(batch['inputs'][row], expected['inputs'])


def test_deterministic_algorithms_on_cuda_are_refused_in_one_line(dataset, tmp_path):
    """torch has no deterministic CUDA backward for the augmentation net's
    adaptive pooling and bilinear upsampling: refused before the first
    update, naming the ops and the alternative (emulated: the hook is told
    its device is CUDA; it stops before any tensor reaches it)."""
    from hrgan_plugin.utils.errors import TrainingAborted
    hook, runner, batch, _ = _setup(dataset, tmp_path, agent_pretrain_iters=0)
    hook.device = torch.device('cuda', 0)
    torch.use_deterministic_algorithms(True)
    try:
        with pytest.raises(TrainingAborted) as err:
            hook.before_train_iter(runner, 0, batch)
    finally:
        torch.use_deterministic_algorithms(False)
    assert str(err.value).startswith('AdversarialAugmentationHook: deterministic algorithms')
    assert 'adaptive_avg_pool2d_backward_cuda' in str(err.value)
    assert 'set randomness.deterministic=False' in str(err.value)
    hook.device = torch.device('cpu')  # CPU kernels are deterministic: no refusal
    torch.use_deterministic_algorithms(True)
    try:
        hook.before_train_iter(runner, 0, batch)
    finally:
        torch.use_deterministic_algorithms(False)


def test_context_warp_on_real_images_is_within_tolerance_of_a_cv2_recrop(testdata):
    """Real COCO persons (the 256x192 pipeline), 4 random draws each over
    the whole scale range and +-60 degrees: the keypoints agree to float
    precision; the pixels, resampled twice (context, then crop) instead of
    once, differ by 1.3 of 255 levels on average (docs/adversarial_augmentation.md,
    fidelity table)."""
    from mmpose.registry import DATASETS
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'hrnet_w32_coco_256x192.py'))
    cfg.train_dataloader.dataset.update(data_root=osp.join(testdata, 'coco'),
                                        ann_file='test_coco.json', data_prefix=dict(img=''))
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    pack_for_recrop(ds)
    recrop = TopdownRecrop(ds)
    cut = RecropContext(recrop.input_size, 2 ** -0.65, zoom=2 ** 0.65)  # the hook's default
    warp = ContextWarp(recrop.input_size, cut.side, cut.zoom)
    rng = np.random.default_rng(0)
    diffs = []
    for i in range(len(ds)):
        sample = recrop.load_sample(i)
        ctx = cut(dict(sample))['recrop_context']
        for _ in range(4):
            s = torch.tensor([2 ** rng.uniform(-0.65, 0.65)])
            r = torch.tensor([rng.uniform(-60, 60)])
            ref = recrop.crop(sample, float(s), float(r))
            torch.testing.assert_close(
                warp.keypoints(ctx['keypoints'][None], s, r)[0],
                torch.as_tensor(ref['data_samples'].gt_instances.transformed_keypoints[0]),
                atol=2e-3, rtol=0)
            diffs.append((warp.crops(ctx['img'][None], s, r)[0].int()
                          - ref['inputs'].int()).abs().float().flatten())
    diff = torch.cat(diffs)
    assert len(ds) == 12
    assert float(diff.mean()) <= 1.5 and float(diff.quantile(0.99)) <= 20


@pytest.mark.parametrize('split,asr,aho', [((1, 0, 1), [], [3, 4, 5]),
                                           ((1, 1, 0), [3, 4, 5], [])])
def test_joint_step_with_asr_only_or_aho_only(dataset, tmp_path, split, asr, aho):
    """The ASR-only and AHO-only ablations: the other kind's rows are left
    as loaded, and nothing of the missing kind is cropped or masked."""
    torch.manual_seed(0)
    hook, runner, batch, calls = _setup(dataset, tmp_path, agent_pretrain_iters=0, split=split)
    before = list(batch['inputs'])
    hook.before_train_iter(runner, 0, batch)
    assert len(calls) == (6 if asr else 0)  # canonical, 2 x (drawn, reference), training
    assert all(len(c) == len(asr) for c in calls)
    for r in range(6):
        assert (batch['inputs'][r] is before[r]) == (r not in asr)
    assert hook.taps.masks[0].tolist() == aho
    assert 0.0 <= runner.message_hub.get_scalar('train/aug_harder').current() <= 1.0


def test_joint_step_with_bbox_pck(dataset, tmp_path):
    """COCO's hardness: PCK normalised by the bbox (no head keypoints)."""
    torch.manual_seed(0)
    hook, runner, batch, _ = _setup(dataset, tmp_path, agent_pretrain_iters=0,
                                    hardness_norm='bbox', hardness_thr=0.05)
    assert hook.judge.norm == 'bbox' and hook.judge.head_ids is None
    hook.before_train_iter(runner, 0, batch)
    assert hook.updates == 1
