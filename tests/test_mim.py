"""``mim train mmpose`` / ``mim test mmpose`` run our configs through mmpose's
stock scripts, from a clean shell with only the virtual environment active."""
import os
import os.path as osp
import subprocess
import sys

import torch
from utils import QUICKSTART_HRGAN, synthetic_options


def _clean_shell_with_venv() -> dict:
    """A login-free environment: the venv's bin first on PATH, nothing else
    inherited (no PYTHONPATH, no test-runner variables)."""
    venv = osp.dirname(osp.dirname(sys.executable))
    return dict(PATH=f'{venv}/bin:/usr/bin:/bin', VIRTUAL_ENV=venv,
                HOME=os.environ.get('HOME', '/tmp'), LANG='C.UTF-8')


def test_mim_train_and_test_hrgan(synthetic_root, tmp_path):
    env = _clean_shell_with_venv()
    work_dir = tmp_path / 'work'
    options = [*synthetic_options(synthetic_root), 'train_dataloader.dataset.indices=16',
               'val_dataloader.dataset.indices=4', 'test_dataloader.dataset.indices=4']
    train = subprocess.run(
        ['mim', 'train', 'mmpose', QUICKSTART_HRGAN, '--gpus', '0', '--work-dir', str(work_dir),
         '--cfg-options', *options],
        cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=600)
    assert train.returncode == 0, (train.stdout + train.stderr)[-4000:]
    ckpt = work_dir / 'epoch_1.pth'
    state = torch.load(ckpt, map_location='cpu')['state_dict']
    assert 'k_t' in state and any(k.startswith('discriminator.') for k in state)
    assert 'loss_adv' in train.stdout + train.stderr  # the adversarial step ran

    test = subprocess.run(
        ['mim', 'test', 'mmpose', QUICKSTART_HRGAN, '--checkpoint', str(ckpt), '--gpus', '0',
         '--work-dir', str(tmp_path / 'test'), '--cfg-options', *options],
        cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=600)
    assert test.returncode == 0, (test.stdout + test.stderr)[-4000:]
    assert 'coco/AP:' in test.stdout + test.stderr
