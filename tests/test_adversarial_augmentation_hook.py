"""AdversarialAugmentationHook on real models: AHO masks reach every
configured resolution only during the armed forward; every ASR/AHO config
trains a few iterations on synthetic data and writes the jsonl and PNG;
interrupted and resumed training equals uninterrupted training."""
import json
import os.path as osp

import pytest
import torch
from gpu_emulation import emulate_cuda_amp
from mmengine.config import Config
from mmengine.runner import Runner
from mmpose.registry import HOOKS, MODELS
from utils import (
    REPO,
    AugmentationRunner,
    CoordinateDataset,
    assert_same_training_state,
    run_tool,
    synthetic_options,
)

from hrgan_plugin.models.augmentation.occlusion import grid_masks


def test_aho_mask_reaches_every_resolution_and_only_while_armed(tmp_path):
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'quickstart',
                                   'hrnet_synthetic-mpii_128x128.py'))
    model = MODELS.build(cfg.model).eval()
    hook = HOOKS.build(dict(type='AdversarialAugmentationHook'))
    dataset = CoordinateDataset(str(tmp_path))
    hook.before_train(AugmentationRunner(model, dataset))
    pack = dataset.pipeline.transforms[-1]
    assert pack.pack_transformed and 'sample_idx' in pack.meta_keys
    seen = []
    model.backbone.stage2.register_forward_hook(lambda m, a, out: seen.append(out))
    x = torch.rand(3, 3, 128, 128)
    with torch.no_grad():
        model.extract_feat(x)
        plain = [o.clone() for o in seen.pop()]
        hook.taps.masks = (torch.tensor([2]), grid_masks(torch.tensor([[5, 10]]), (4, 4)))
        model.extract_feat(x)
        masked = seen.pop()
        hook.after_train_iter(None, 0)  # disarms (no context: nothing else to do)
        model.extract_feat(x)
        again = seen.pop()
    assert [o.shape[-1] for o in masked] == [32, 16]  # both stage-2 resolutions
    for p, m, a in zip(plain, masked, again):
        cell = p.shape[-1] // 4
        torch.testing.assert_close(m[:2], p[:2])  # other rows untouched
        zero = torch.zeros(4, 4, dtype=torch.bool)
        zero[1, 1] = zero[2, 2] = True  # cells 5 and 10 (row-major)
        region = zero.repeat_interleave(cell, 0).repeat_interleave(cell, 1)
        assert m[2][:, region].abs().max() == 0
        torch.testing.assert_close(m[2][:, ~region], p[2][:, ~region])
        torch.testing.assert_close(a, p)  # gone in the next forward


@pytest.mark.parametrize('dtype', (torch.float16, torch.bfloat16))
def test_aho_mask_applies_to_half_precision_features_under_cuda_autocast(dtype, tmp_path):
    """The training forward under ``--amp``: stage-2 outputs are half
    precision while CUDA autocast upsamples the coarse mask in fp32; the
    masked rows stay half precision, zero on the drawn cells."""
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'quickstart',
                                   'hrnet_synthetic-mpii_128x128.py'))
    model = MODELS.build(cfg.model).eval()
    hook = HOOKS.build(dict(type='AdversarialAugmentationHook'))
    hook.before_train(AugmentationRunner(model, CoordinateDataset(str(tmp_path))))
    seen = []
    model.backbone.stage2.register_forward_hook(lambda m, a, out: seen.append(out))
    x = torch.rand(3, 3, 128, 128)
    with torch.no_grad(), emulate_cuda_amp(), torch.autocast('cpu', dtype=dtype):
        model.extract_feat(x)
        plain = seen.pop()
        hook.taps.masks = (torch.tensor([1]), grid_masks(torch.tensor([[0, -1]]), (4, 4)))
        model.extract_feat(x)
        masked = seen.pop()
    for p, m in zip(plain, masked):
        assert p.dtype == m.dtype == dtype
        cell = p.shape[-1] // 4
        assert m[1, :, :cell, :cell].abs().max() == 0  # cell 0, the top-left one
        torch.testing.assert_close(m[1, :, cell:], p[1, :, cell:], rtol=0, atol=0)
        torch.testing.assert_close(m[::2], p[::2], rtol=0, atol=0)  # rows 0 and 2 untouched


ASR_AHO_CONFIGS = {
    'hrnet_w32_asr-aho_mpii_256x256.py': 'mpii',
    'hrnet_w32_asr_mpii_256x256.py': 'mpii',
    'hrnet_w32_aho_mpii_256x256.py': 'mpii',
    'hrnet_w32_asr-aho_coco_256x192.py': 'coco',
    'hg8_asr-aho_mpii_256x256.py': 'mpii',
    'hrgan_w32_asr-aho_coco_256x192.py': 'coco',
}
#: slow (20-40 s each): their differences from the one run by default are
#: covered faster: ASR-only and AHO-only splits and the bbox PCK by
#: test_adversarial_sampling.py, HRGAN + ASR/AHO by test_distributed.py, the
#: hourglass's bridge features and BridgeAugmentationNet by
#: test_adversarial_augmentation_units.py
SLOW_ASR_AHO = ('hrnet_w32_asr_mpii_256x256.py', 'hrnet_w32_aho_mpii_256x256.py',
                'hrnet_w32_asr-aho_coco_256x192.py', 'hrgan_w32_asr-aho_coco_256x192.py',
                'hg8_asr-aho_mpii_256x256.py')


@pytest.mark.parametrize('name', [pytest.param(n, marks=[pytest.mark.slow] if n in SLOW_ASR_AHO
                                               else []) for n in ASR_AHO_CONFIGS])
def test_asr_aho_config_trains_and_logs_distributions(name, synthetic_root, tmp_path):
    fmt = ASR_AHO_CONFIGS[name]
    cfg = Config.fromfile(osp.join(REPO, 'configs', name))
    cfg.work_dir = str(tmp_path)
    cfg.train_cfg.update(max_epochs=1, val_interval=1)
    cfg.model.backbone.pop('init_cfg', None)
    for key in ('train_dataloader', 'val_dataloader'):
        split = 'train' if key.startswith('train') else 'val'
        cfg[key].update(batch_size=3, num_workers=0, persistent_workers=False)
        cfg[key].dataset.update(
            data_root=synthetic_root, ann_file=f'annotations/{fmt}_{split}.json',
            data_prefix=dict(img=f'images/{split}/'), indices=6 if split == 'train' else 3)
    if fmt == 'coco':
        cfg.val_dataloader.dataset.bbox_file = None
        cfg.val_evaluator.ann_file = osp.join(synthetic_root, 'annotations', 'coco_val.json')
    else:
        cfg.val_dataloader.dataset.headbox_file = osp.join(synthetic_root, 'annotations',
                                                           'mpii_gt_val.mat')
    cfg.test_dataloader = cfg.val_dataloader
    cfg.default_hooks.checkpoint.update(interval=1, save_best=None)
    cfg.log_level = 'WARNING'
    for hook in cfg.custom_hooks:
        if hook['type'] == 'AdversarialAugmentationHook':
            # stage 2 is covered by the quickstart tests (at 128x128)
            hook.update(pose_pretrain_epochs=0, agent_pretrain_iters=0, log_interval=1)
    runner = Runner.from_cfg(cfg)
    runner.train()
    with open(tmp_path / 'adversarial_augmentation.jsonl') as f:
        lines = [json.loads(line) for line in f]
    assert [r['iter'] for r in lines] == [1, 2]
    assert [r['phase'] for r in lines] == ['joint', 'joint']
    for r in lines:
        assert (len(r['scale']), len(r['rotation']), len(r['occlusion'])) == (7, 9, 16)
        for k in ('scale', 'rotation', 'occlusion'):
            assert sum(r[k]) == pytest.approx(1.0, abs=1e-4)
    with open(tmp_path / 'adversarial_augmentation.png', 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    # hook state travels with the checkpoint
    ckpt = torch.load(tmp_path / 'epoch_1.pth', map_location='cpu')
    state = ckpt['hook_states']['AdversarialAugmentationHook']
    assert state['agent_pretrain_done'] == 0 and 'aug_net' in state and 'optimizer' in state


def test_resume_restores_augmentation_net_and_stage(synthetic_root, tmp_path):
    """3 epochs straight == 1 epoch, --resume to 2, --resume to 3, with 2
    iterations per epoch: epoch 1 is stage 1 (pose net alone), the agent
    pre-trains (3 updates, pose net frozen) before epoch 2, then joint
    training; so each stage is resumed into, and every epoch makes its 2
    pose updates."""
    config = osp.join(REPO, 'configs', 'quickstart', 'hrnet_asr-aho_synthetic-mpii_128x128.py')
    opts = [*synthetic_options(synthetic_root, 'mpii'), 'train_cfg.val_interval=10',
            'train_dataloader.batch_size=6', 'train_dataloader.dataset.indices=12',
            'custom_hooks.4.pose_pretrain_epochs=1', 'custom_hooks.4.agent_pretrain_iters=3',
            'custom_hooks.4.log_interval=1']
    straight, split = str(tmp_path / 'straight'), str(tmp_path / 'split')
    for work_dir, epochs, resume in ((straight, 3, []), (split, 1, []), (split, 2, ['--resume']),
                                     (split, 3, ['--resume'])):
        proc = run_tool('tools/train.py', config, '--work-dir', work_dir, *resume,
                        '--cfg-options', *opts, f'train_cfg.max_epochs={epochs}')
        assert proc.returncode == 0, proc.stderr[-3000:]
    assert_same_training_state(osp.join(straight, 'epoch_3.pth'), osp.join(split, 'epoch_3.pth'))
    state = torch.load(osp.join(split, 'epoch_3.pth'),
                       map_location='cpu')['hook_states']['AdversarialAugmentationHook']
    assert state['agent_pretrain_done'] == 3 and state['updates'] == 3 + 4
    with open(osp.join(split, 'adversarial_augmentation.jsonl')) as f:
        lines = [json.loads(line) for line in f]
    # one log, continued across the resumes: the agent's phase ran once, at
    # pose iteration 2, then one joint update per pose iteration 3..6
    assert [r['phase'] for r in lines] == ['pretrain'] * 3 + ['joint'] * 4
    assert [r['iter'] for r in lines] == [2] * 3 + list(range(3, 7))
    assert [r['update'] for r in lines] == list(range(1, 8))


def test_feature_maps_coarser_than_the_grid_are_one_line(synthetic_root, tmp_path):
    """An occlusion grid finer than the features the augmentation net reads
    (or AHO masks) would lose cells: the run stops at its first iteration
    with one line naming the hook's key."""
    config = osp.join(REPO, 'configs', 'quickstart', 'hrnet_asr-aho_synthetic-mpii_128x128.py')
    proc = run_tool('tools/train.py', config, '--work-dir', str(tmp_path), '--cfg-options',
                    *synthetic_options(synthetic_root, 'mpii'),
                    'custom_hooks.4.occlusion_grid=(64,64)',
                    'custom_hooks.4.pose_pretrain_epochs=0')
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    assert proc.stderr.strip().splitlines()[-1] == (
        'training stopped: AdversarialAugmentationHook.feature_modules: feature maps of size '
        '(32, 32) (h, w) are smaller than occlusion_grid (64, 64) (w, h); choose modules of a '
        'finer stride in feature_modules, or a coarser occlusion_grid')


def test_iteration_based_loop_with_loader_workers(synthetic_root, tmp_path):
    """An IterBasedTrainLoop starts its loader's workers when it is built,
    before any hook runs: the hook restarts them, so the samples they make
    go through the pipeline it changed (they carry their contexts)."""
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'quickstart',
                                   'hrnet_asr-aho_synthetic-mpii_128x128.py'))
    cfg.work_dir = str(tmp_path)
    cfg.log_level = 'WARNING'
    cfg.train_cfg = dict(by_epoch=False, max_iters=2, val_interval=100)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(type='SafeCheckpointHook', by_epoch=False, interval=2)
    cfg.train_dataloader.update(batch_size=6, num_workers=1, persistent_workers=False)
    cfg.train_dataloader.sampler = dict(type='InfiniteSampler', shuffle=True)
    cfg.train_dataloader.dataset.update(
        data_root=synthetic_root, ann_file='annotations/mpii_train.json',
        data_prefix=dict(img='images/train/'), indices=12)
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.test_dataloader = cfg.test_evaluator = cfg.test_cfg = None
    for hook in cfg.custom_hooks:
        if hook['type'] == 'AdversarialAugmentationHook':
            hook.update(pose_pretrain_epochs=0, agent_pretrain_iters=1, log_interval=1)
    runner = Runner.from_cfg(cfg)
    runner.train()
    with open(tmp_path / 'adversarial_augmentation.jsonl') as f:
        assert [json.loads(line)['phase'] for line in f] == ['pretrain', 'joint', 'joint']
