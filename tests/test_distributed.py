"""Two processes on gloo (CPU): HRGAN's generator, discriminator and k_t stay
identical on both ranks, and tools/dist_train.sh runs without a GPU."""
import os
import os.path as osp
import random
import subprocess
import sys

import torch
from conftest import REPO, run_tool, synthetic_options

HRGAN_QUICKSTART = osp.join(REPO, 'configs', 'quickstart', 'hrgan_synthetic-coco_128x96.py')


def _port() -> str:
    return str(random.Random().randint(20000, 40000))


def test_hrgan_ranks_stay_identical(synthetic_root, tmp_path):
    opts = [o for o in synthetic_options(synthetic_root) if not o.startswith(('val', 'test'))]
    proc = run_tool('-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_port',
                    _port(), osp.join(REPO, 'tests', 'dist_state_dump.py'), HRGAN_QUICKSTART,
                    str(tmp_path), *opts, 'train_dataloader.batch_size=4',
                    'train_dataloader.dataset.indices=24')
    assert proc.returncode == 0, proc.stderr[-4000:]
    a = torch.load(tmp_path / 'rank0.pth')
    b = torch.load(tmp_path / 'rank1.pth')
    assert a['wrapper'] == 'MMSeparateDistributedDataParallel'
    assert a['child'] == 'MMDistributedDataParallel'  # D in its own DDP
    assert a['state'].keys() == b['state'].keys()
    for key in a['state']:
        torch.testing.assert_close(a['state'][key], b['state'][key], rtol=0, atol=0, msg=key)
    assert a['state']['k_t'].item() > 0.0  # the equilibrium hook moved it, alike on both


def test_dist_train_script_runs_on_cpu(synthetic_root, tmp_path):
    proc = subprocess.run(
        ['bash', osp.join(REPO, 'tools', 'dist_train.sh'),
         osp.join(REPO, 'configs', 'quickstart', 'hrnet_synthetic-coco_128x96.py'), '2',
         '--work-dir', str(tmp_path), '--cfg-options', *synthetic_options(synthetic_root),
         'train_dataloader.batch_size=4', 'train_dataloader.dataset.indices=16',
         'val_dataloader.dataset.indices=4'],
        cwd=str(tmp_path), capture_output=True, text=True, timeout=600,
        env=dict(os.environ, PORT=_port(), PYTHON=sys.executable))
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert osp.isfile(tmp_path / 'epoch_1.pth')
