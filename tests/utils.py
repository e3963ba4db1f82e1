"""Helpers shared by the tests: repository paths, running the tools,
config options for short runs on the synthetic data, reading run logs,
comparing training states, and a tiny HRGAN with its batch and optimisers."""
from __future__ import annotations

import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import torch
from mmcv.transforms import Compose, LoadImageFromFile
from mmengine.structures import InstanceData, PixelData
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.datasets.transforms import (
    GenerateTarget,
    GetBBoxCenterScale,
    PackPoseInputs,
    RandomBBoxTransform,
    RandomFlip,
    TopdownAffine,
)
from mmpose.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
from mmpose.structures import PoseDataSample

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TESTDATA = osp.normpath(osp.join(REPO, '..', 'shared', 'testdata'))
QUICKSTART_COCO = osp.join(REPO, 'configs', 'quickstart', 'hrnet_synthetic-coco_128x96.py')
QUICKSTART_MPII = osp.join(REPO, 'configs', 'quickstart', 'hrnet_synthetic-mpii_128x128.py')
QUICKSTART_HRGAN = osp.join(REPO, 'configs', 'quickstart', 'hrgan_synthetic-coco_128x96.py')


CORRUPT_IMAGE = '000000000005.jpg'  # in synthetic_root's train images


def synthetic_options(root: str, fmt: str = 'coco') -> list[str]:
    """``--cfg-options`` pointing a quickstart config at ``root`` for a
    one-epoch, few-iteration run."""
    opts = [
        f'train_dataloader.dataset.data_root={root}/',
        f'val_dataloader.dataset.data_root={root}/',
        f'test_dataloader.dataset.data_root={root}/',
        'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
        'train_dataloader.batch_size=8', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
        'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False',
        'default_hooks.checkpoint.interval=1', 'default_hooks.logger.interval=1',
    ]
    if fmt == 'coco':
        opts += [f'val_evaluator.ann_file={root}/annotations/coco_val.json',
                 f'test_evaluator.ann_file={root}/annotations/coco_val.json']
    else:
        opts += [f'val_dataloader.dataset.headbox_file={root}/annotations/mpii_gt_val.mat',
                 f'test_dataloader.dataset.headbox_file={root}/annotations/mpii_gt_val.mat']
    return opts


def tiny_spec_options(root: str) -> dict:
    """``cfg_options`` of the tiny experiment specs (HRNet vs HRGAN on the
    synthetic data at ``root``): 16 training people, no loader workers, COCO
    AP and the occlusion metrics, a log line every iteration."""
    return {
        'train_dataloader.dataset.data_root': f'{root}/',
        'train_dataloader.dataset.indices': 16,
        'val_dataloader.dataset.data_root': f'{root}/',
        'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False,
        'val_dataloader.num_workers': 0, 'val_dataloader.persistent_workers': False,
        'val_evaluator': [dict(type='CocoMetric', ann_file=f'{root}/annotations/coco_val.json'),
                          dict(type='OcclusionPCKMetric')],
        'default_hooks.logger.interval': 1,
    }


def write_spec(path, doc: str, **fields) -> str:
    """An experiment spec at ``path`` (a ``pathlib.Path``): the docstring
    ``doc``, then ``NAME = repr(VALUE)`` for each field in order; returns
    the path as a string."""
    path.write_text(f'"""{doc}"""\n' + ''.join(f'{k} = {v!r}\n' for k, v in fields.items()))
    return str(path)


def run_tool(*args: str, timeout: int = 600, env: dict | None = None,
             cwd: str = REPO) -> subprocess.CompletedProcess:
    """Run a repository script with this interpreter; returns the completed
    process with stdout and stderr captured as text."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, *args], cwd=cwd, env=full_env, text=True,
                          capture_output=True, timeout=timeout)


def single_error_line(proc) -> str:
    """A tool's refusal: exit status 2, no traceback, and an ``error:`` line
    as the last thing on stderr; returns that line."""
    assert proc.returncode == 2, proc.stderr[-3000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert 'Traceback' not in proc.stderr
    assert lines[-1].startswith('error: ')
    return lines[-1]


def scalar_records(work_dir: str) -> list[dict]:
    """The json log lines (``vis_data/scalars.json``) of the run in ``work_dir``."""
    [run] = [d for d in os.listdir(work_dir) if osp.isdir(osp.join(work_dir, d, 'vis_data'))]
    with open(osp.join(work_dir, run, 'vis_data', 'scalars.json')) as f:
        return [json.loads(line) for line in f]


def real_coco_options(coco: str) -> list[str]:
    """``--cfg-options`` for a one-epoch, from-scratch run on the real COCO
    samples in ``coco`` (batch 7: two iterations over 14 persons)."""
    return [
        'model.backbone.init_cfg=None', 'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
        f'train_dataloader.dataset.data_root={coco}/', 'train_dataloader.batch_size=7',
        'train_dataloader.dataset.ann_file=test_coco.json',
        'train_dataloader.dataset.data_prefix.img=', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        f'val_dataloader.dataset.data_root={coco}/', 'val_dataloader.dataset.bbox_file=None',
        'val_dataloader.dataset.ann_file=test_coco.json',
        'val_dataloader.dataset.data_prefix.img=', 'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        f'test_dataloader.dataset.data_root={coco}/', 'test_dataloader.dataset.bbox_file=None',
        'test_dataloader.dataset.ann_file=test_coco.json',
        'test_dataloader.dataset.data_prefix.img=', 'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
        f'val_evaluator.ann_file={coco}/test_coco.json',
        f'test_evaluator.ann_file={coco}/test_coco.json', 'default_hooks.logger.interval=1']


def assert_same_training_state(path_a: str, path_b: str) -> None:
    """Two checkpoints hold bitwise the same training state: weights and
    buffers, every optimiser's state, the schedulers and the hook states."""
    a = torch.load(path_a, map_location='cpu', weights_only=False)
    b = torch.load(path_b, map_location='cpu', weights_only=False)
    for key in ('state_dict', 'optimizer', 'param_schedulers', 'hook_states'):
        assert (key in a) == (key in b), key
        if key in a:
            assert_same(a[key], b[key], key)


def assert_same(a, b, where: str = '', **tol) -> None:
    """Nested dicts/lists of tensors and plain values are equal: tensors
    bitwise, or within ``torch.testing.assert_close`` tolerances ``tol``."""
    assert type(a) is type(b), where
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            assert_same(a[k], b[k], f'{where}.{k}', **tol)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f'{where}[{i}]', **tol)
    elif torch.is_tensor(a):
        torch.testing.assert_close(a, b, **(tol or dict(rtol=0, atol=0)), msg=where)
    else:
        assert a == b, where


CODEC_128 = dict(type='MSRAHeatmap', input_size=(128, 128), heatmap_size=(32, 32), sigma=2)
MPII_META = parse_pose_metainfo(dict(from_file='configs/_base_/datasets/mpii.py'))
BBOX = np.array([[50.0, 50.0, 150.0, 150.0]], dtype=np.float32)  # centre (100, 100), 100 x 100


class CoordinateDataset:
    """A top-down MPII-keypoint dataset of six people (bbox 50..150, keypoints
    inside it) on one 200 x 200 image whose pixel (x, y) holds (B, G, R) =
    (x, y, 255): a crop's pixels tell where in the image they come from."""

    def __init__(self, root: str, steps=None):
        self.img_path = osp.join(root, 'coords.png')
        y, x = np.mgrid[0:200, 0:200]
        cv2.imwrite(self.img_path, np.stack([x, y, np.full_like(x, 255)], -1).astype(np.uint8))
        self.metainfo = MPII_META
        self.pipeline = Compose(steps or [
            LoadImageFromFile(), GetBBoxCenterScale(padding=1.0), RandomFlip(),
            RandomBBoxTransform(), TopdownAffine(input_size=(128, 128)),
            GenerateTarget(encoder=CODEC_128), PackPoseInputs()])
        rng = np.random.default_rng(0)
        self.keypoints = rng.uniform(60, 140, (len(self), 1, 16, 2)).astype(np.float32)

    def __len__(self) -> int:
        return 6

    def get_data_info(self, idx: int) -> dict:
        return dict(img_path=self.img_path, bbox=BBOX.copy(), bbox_score=np.ones(1),
                    keypoints=self.keypoints[idx].copy(),
                    keypoints_visible=np.ones((1, 16), dtype=np.float32), id=idx, img_id=0,
                    sample_idx=idx, flip_indices=MPII_META['flip_indices'])

    def __getitem__(self, idx: int) -> dict:
        return self.pipeline(self.get_data_info(idx))


class AugmentationRunner:
    """The parts of a runner AdversarialAugmentationHook reads: the model,
    the train loader (batches of 6, pseudo-collated) and seed, the message
    hub, iteration, epoch and work dir."""

    def __init__(self, model, dataset, work_dir: str = '.'):
        from mmengine.dataset import pseudo_collate
        from mmengine.logging import MessageHub
        from torch.utils.data import DataLoader
        self.model = model
        self.train_dataloader = DataLoader(dataset, batch_size=6, collate_fn=pseudo_collate)
        self.message_hub = MessageHub.get_current_instance()
        self.iter, self.epoch, self.work_dir, self.seed = 0, 0, work_dir, 0


GAN_K = 4  # keypoints of the tiny HRGAN


def tiny_hrgan(lambda_g=1.0, loss_weight=1.0, warmup_iters=0):
    """A tiny HRGAN (HRNet generator, small BEGAN D), seeded and initialised."""
    torch.manual_seed(0)
    model = MODELS.build(tiny_hrgan_cfg(lambda_g, loss_weight, warmup_iters))
    model.init_weights()
    return model


def tiny_hrgan_cfg(lambda_g=1.0, loss_weight=1.0, warmup_iters=0):
    """The config of :func:`tiny_hrgan`: 64x64 input, 16x16 heatmaps, GAN_K keypoints."""
    return dict(
        type='AdversarialTopdownPoseEstimator',
        data_preprocessor=dict(type='PoseDataPreprocessor', mean=[128.] * 3, std=[64.] * 3),
        backbone=dict(
            type='HRNet', in_channels=3,
            extra=dict(
                stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK',
                            num_blocks=(1, ), num_channels=(16, )),
                stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(1, 1),
                            num_channels=(8, 16)),
                stage3=dict(num_modules=1, num_branches=3, block='BASIC',
                            num_blocks=(1, 1, 1), num_channels=(8, 16, 32)),
                stage4=dict(num_modules=1, num_branches=4, block='BASIC',
                            num_blocks=(1, 1, 1, 1), num_channels=(8, 16, 32, 64)))),
        head=dict(type='HeatmapHead', in_channels=8, out_channels=GAN_K,
                  deconv_out_channels=None,
                  loss=dict(type='KeypointMSELoss', use_target_weight=True,
                            loss_weight=loss_weight),
                  decoder=dict(type='MSRAHeatmap', input_size=(64, 64), heatmap_size=(16, 16),
                               sigma=2)),
        discriminator=dict(type='PoseDiscriminator', num_keypoints=GAN_K, feat_channels=8,
                           depth=2),
        adversarial_loss=dict(type='BEGANLoss'),
        lambda_g=lambda_g, warmup_iters=warmup_iters)


def tiny_gan_batch(n=2):
    """``n`` seeded random images and target heatmaps for :func:`tiny_hrgan`."""
    g = torch.Generator().manual_seed(1)
    samples = []
    for _ in range(n):
        s = PoseDataSample()
        s.gt_fields = PixelData(heatmaps=torch.rand(GAN_K, 16, 16, generator=g))
        s.gt_instance_labels = InstanceData(keypoint_weights=torch.ones(1, GAN_K))
        s.set_metainfo(dict(input_size=(64, 64)))
        samples.append(s)
    inputs = [torch.randint(0, 255, (3, 64, 64), generator=g, dtype=torch.uint8)
              for _ in range(n)]
    return dict(inputs=inputs, data_samples=samples)


def gan_optim(model, g_lr, d_lr):
    """SGD for G and for D through GANOptimWrapperConstructor."""
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
        type='GANOptimWrapperConstructor',
        optim_wrapper_cfg=dict(
            generator=dict(optimizer=dict(type='SGD', lr=g_lr)),
            discriminator=dict(optimizer=dict(type='SGD', lr=d_lr)))))
    return constructor(model)
