"""Importing the plugin registers its modules; every config of ours loads,
carries custom_imports and builds its model through mmpose's registry."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from utils import REPO

import hrgan_plugin  # noqa: F401

REGISTERED = {
    'MODELS': ['AdversarialTopdownPoseEstimator', 'PoseDiscriminator', 'HRNetDiscriminator',
               'ClassifierDiscriminator', 'BEGANLoss', 'NonSaturatingGANLoss',
               'HRUHourglassNet', 'AugmentationNet', 'BridgeAugmentationNet',
               'AdversarialAugmenter'],
    'HOOKS': ['BoundaryEquilibriumHook', 'AdversarialAugmentationHook', 'EpochSeedHook',
              'TrainingCurveHook', 'ChannelsLastHook', 'SafeCheckpointHook',
              'DivergenceGuardHook'],
    'OPTIM_WRAPPER_CONSTRUCTORS': ['GANOptimWrapperConstructor'],
    'TRANSFORMS': ['LoadImageOrSkip', 'LoadImageOrFail'],
}
# model configs; configs/experiments/ holds experiment specs (tests/test_experiment.py),
# _base_/ folders the fragments the configs are built from
CONFIGS = sorted(p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
                 if osp.join('configs', 'experiments') not in p and '_base_' not in p)


@pytest.mark.parametrize('registry,name', [(r, n) for r, ns in REGISTERED.items() for n in ns])
def test_module_is_registered(registry, name):
    import mmpose.registry
    reg = getattr(mmpose.registry, registry)
    assert reg.get(name) is not None, f'{name} missing from mmpose.registry.{registry}'


def test_configs_exist():
    names = {osp.relpath(c, REPO) for c in CONFIGS}
    hourglass = {f'configs/hg{s}_{v}_mpii_256x256.py' for s in (1, 2, 8)
                 for v in ('res', 'hru', 'hru-deconv')}
    assert hourglass | {
        'configs/hrnet_w32_coco_256x192.py', 'configs/hrnet_w32_mpii_256x256.py',
        'configs/hrgan_w32_coco_256x192.py', 'configs/hrgan_w32_mpii_256x256.py',
        'configs/hg8_hru-deconv_coco_256x192.py', 'configs/hrgan_hg8_hru-deconv_mpii_256x256.py',
        'configs/hrnet_w32_asr-aho_mpii_256x256.py', 'configs/hrnet_w32_asr-aho_coco_256x192.py',
        'configs/hg8_asr-aho_mpii_256x256.py', 'configs/hrgan_w32_asr-aho_coco_256x192.py',
        'configs/quickstart/hrnet_synthetic-coco_128x96.py',
        'configs/quickstart/hrnet_synthetic-mpii_128x128.py',
        'configs/hrgan_w32_coco_256x192_small-d.py', 'configs/hrgan_w32_mpii_256x256_small-d.py',
        'configs/hrgan_w32_mpii_256x256_conventional-gan.py',
        'configs/hrgan_w32_mpii_256x256_channel-wise-gan.py',
        'configs/quickstart/hrgan_synthetic-coco_128x96.py'} <= names


@pytest.mark.parametrize('path', CONFIGS, ids=[osp.relpath(c, REPO) for c in CONFIGS])
def test_config_builds_model(path):
    from mmpose.registry import MODELS
    from mmpose.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(path)
    assert cfg.custom_imports == dict(imports=['hrgan_plugin'], allow_failed_imports=False)
    model = MODELS.build(cfg.model).eval()
    w, h = cfg.codec['input_size']
    hw, hh = cfg.codec['heatmap_size']
    with torch.no_grad():
        out = model(torch.zeros(1, 3, h, w), None, mode='tensor')
    heatmaps = out[-1] if isinstance(out, (list, tuple)) else out
    num_keypoints = 17 if 'coco' in osp.basename(path) else 16
    assert heatmaps.shape == (1, num_keypoints, hh, hw)


def test_leaf_configs_take_the_gan_block_from_the_fragment():
    """The GAN optimiser block and the equilibrium hook are written once, in
    configs/_base_/hrgan.py; the augmentation hook once, in
    configs/_base_/adversarial_augmentation.py."""
    for path in CONFIGS:
        with open(path) as f:
            text = f.read()
        for written_once in ("constructor='GANOptimWrapperConstructor'",
                             "type='BoundaryEquilibriumHook'",
                             "type='AdversarialAugmentationHook'"):
            assert written_once not in text, (path, written_once)
    hrgan = Config.fromfile(osp.join(REPO, 'configs', 'hrgan_w32_coco_256x192.py'))
    assert hrgan.optim_wrapper.constructor == 'GANOptimWrapperConstructor'
    assert hrgan.optim_wrapper.generator == Config.fromfile(
        osp.join(REPO, 'configs', 'hrnet_w32_coco_256x192.py')).optim_wrapper
    assert [h['type'] for h in hrgan.custom_hooks].count('BoundaryEquilibriumHook') == 1
