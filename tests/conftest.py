"""Shared fixtures: repository paths, the real sample data and a small
synthetic dataset written once per test session."""
from __future__ import annotations

import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmpose.utils import register_all_modules

import hrgan_plugin  # noqa: F401  (registers the plugin's modules)

register_all_modules()  # mmpose as the default scope, as in mmpose's own runner

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TESTDATA = osp.normpath(osp.join(REPO, '..', 'shared', 'testdata'))
QUICKSTART_COCO = osp.join(REPO, 'configs', 'quickstart', 'hrnet_synthetic-coco_128x96.py')
QUICKSTART_MPII = osp.join(REPO, 'configs', 'quickstart', 'hrnet_synthetic-mpii_128x128.py')


@pytest.fixture(scope='session')
def testdata() -> str:
    """``../shared/testdata`` (real COCO/MPII/CrowdPose samples)."""
    if not osp.isdir(TESTDATA):
        pytest.skip(f'real sample data not found at {TESTDATA}')
    return TESTDATA


CORRUPT_IMAGE = '000000000005.jpg'  # in synthetic_root's train images


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory) -> str:
    """A small synthetic dataset (40 train / 12 val images) with one train
    image overwritten by bytes that no decoder accepts."""
    from hrgan_plugin.datasets import write_synthetic_dataset
    root = str(tmp_path_factory.mktemp('synthetic'))
    write_synthetic_dataset(root, num_train=40, num_val=12, seed=3, image_size=192)
    with open(osp.join(root, 'images', 'train', CORRUPT_IMAGE), 'wb') as f:
        f.write(b'this is not an image')
    return root


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


def run_tool(*args: str, timeout: int = 600, env: dict | None = None,
             cwd: str = REPO) -> subprocess.CompletedProcess:
    """Run a repository script with this interpreter; returns the completed
    process with stdout and stderr captured as text."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, *args], cwd=cwd, env=full_env, text=True,
                          capture_output=True, timeout=timeout)


@pytest.fixture(scope='session')
def trained_run(synthetic_root, tmp_path_factory) -> dict:
    """One epoch of the COCO quickstart config on the synthetic data through
    ``tools/train.py``; returns the work dir, checkpoint and the process."""
    work_dir = str(tmp_path_factory.mktemp('quickstart_run'))
    proc = run_tool('tools/train.py', QUICKSTART_COCO, '--work-dir', work_dir,
                    '--cfg-options', *synthetic_options(synthetic_root))
    assert proc.returncode == 0, proc.stderr[-4000:]
    ckpt = osp.join(work_dir, 'epoch_1.pth')
    assert osp.isfile(ckpt), os.listdir(work_dir)
    return dict(work_dir=work_dir, checkpoint=ckpt, proc=proc, config=QUICKSTART_COCO)


@pytest.fixture(scope='session')
def random_person_detector(tmp_path_factory) -> tuple[str, str]:
    """mmpose's RTMDet-nano person-detector config and a checkpoint of it with
    random weights (no download)."""
    import mmpose
    det_cfg = osp.join(osp.dirname(mmpose.__file__), '.mim', 'demo', 'mmdetection_cfg',
                       'rtmdet_nano_320-8xb32_coco-person.py')
    det_ckpt = str(tmp_path_factory.mktemp('detector') / 'rtmdet_random.pth')
    proc = run_tool('-c', (
        'import torch; from mmdet.apis import init_detector; torch.manual_seed(0); '
        f'm = init_detector({det_cfg!r}, None, device="cpu"); '
        f'torch.save(dict(state_dict=m.state_dict()), {det_ckpt!r})'))
    assert proc.returncode == 0, proc.stderr[-2000:]
    return det_cfg, det_ckpt


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
