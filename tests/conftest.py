"""Shared fixtures: the real sample data, a small synthetic dataset written
once per test session, a trained quickstart run, a random person detector
and a one-node SLURM cluster. Plain helpers live in ``tests/utils.py``."""
from __future__ import annotations

import os
import os.path as osp
import shutil
import tempfile

import pytest
from mmpose.utils import register_all_modules
from utils import CORRUPT_IMAGE, QUICKSTART_COCO, TESTDATA, run_tool, synthetic_options

import hrgan_plugin  # noqa: F401  (registers the plugin's modules)

register_all_modules()  # mmpose as the default scope, as in mmpose's own runner


@pytest.fixture(scope='session')
def testdata() -> str:
    """``../shared/testdata`` (real COCO/MPII/CrowdPose samples)."""
    if not osp.isdir(TESTDATA):
        pytest.skip(f'real sample data not found at {TESTDATA}')
    return TESTDATA


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


@pytest.fixture(scope='session')
def slurm_cluster():
    """A one-node SLURM cluster of this test process (``tests/slurm_cluster.py``:
    partition ``debug``, 16 CPUs, 2 fake GPUs), its packages installed with
    apt-get when missing; skipped, naming what is missing, when it cannot
    start. At the end of the session every job is cancelled and every
    daemon stopped, and no process of it may be left. Each pytest-xdist
    worker gets its own cluster (own folder, free ports)."""
    from slurm_cluster import ClusterUnavailable, LocalSlurm
    # a short folder: munge's and slurmd's unix sockets live in it
    root = tempfile.mkdtemp(prefix='hrgan-slurm-')
    cluster = LocalSlurm(root)
    try:
        cluster.start()
    except ClusterUnavailable as err:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f'no SLURM test cluster: {err}')
    yield cluster
    left = cluster.stop()
    shutil.rmtree(root, ignore_errors=True)
    assert not left, f'processes of the SLURM test cluster still running: {left}'
