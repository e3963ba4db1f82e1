"""Importing the plugin registers its modules; every config of ours loads,
carries custom_imports and builds its model through mmpose's registry."""
import glob
import os.path as osp
from types import SimpleNamespace

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
              'DivergenceGuardHook', 'RankZeroLoggerHook'],
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


def test_exact_resume_refuses_persistent_train_workers():
    """EpochSeedHook asks for an exact --resume, which persistent train
    workers break: training refuses them before it starts, in one line that
    names the setting and the fix (tools/train.py prints DataConfigErrors as
    one 'error:' line)."""
    from torch.utils.data import DataLoader

    from hrgan_plugin.engine.hooks import EpochSeedHook
    from hrgan_plugin.utils.preflight import DataConfigError
    hook = EpochSeedHook()
    persistent = DataLoader(list(range(4)), num_workers=2, persistent_workers=True)
    with pytest.raises(DataConfigError) as err:
        hook.before_train(SimpleNamespace(train_dataloader=persistent))
    assert type(err.value).__name__ == 'ExactResumeConfigError'
    assert str(err.value) == (
        'EpochSeedHook (exact --resume) needs data workers started afresh every epoch, but '
        'train_dataloader.persistent_workers=True (num_workers=2) keeps their random streams '
        'across epochs; set train_dataloader.persistent_workers=False (or num_workers=0), or '
        'remove EpochSeedHook to give up exact resume')
    for fine in (DataLoader(list(range(4)), num_workers=2, persistent_workers=False),
                 DataLoader(list(range(4)), num_workers=0)):
        hook.before_train(SimpleNamespace(train_dataloader=fine))


@pytest.mark.parametrize('path', CONFIGS, ids=[osp.relpath(c, REPO) for c in CONFIGS])
def test_configs_asking_for_exact_resume_can_train(path):
    """Every config with EpochSeedHook starts its train workers afresh each
    epoch (the refusal above would stop it otherwise); its validation
    workers may persist."""
    cfg = Config.fromfile(path)
    if 'EpochSeedHook' not in [h['type'] for h in cfg.get('custom_hooks', [])]:
        return
    loader = cfg.train_dataloader
    assert loader.get('num_workers', 0) > 0  # the setting that matters: with workers
    assert loader.get('persistent_workers', False) is False
