"""Each of the nine hourglass MPII configs trains a few iterations on the
synthetic MPII data and validates with MpiiPCKAccuracy (PCKh).

The 8-stack runs (about 40-60 s each on 2 cores, 25-240 M parameters) and
the 1-stack runs are marked slow: the 2-stack runs of the same units go
through the same code, tests/test_hru_hourglass.py covers one stack, and
test_registration_and_configs builds every model."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.runner import Runner
from utils import REPO

CONFIGS = [pytest.param(f'hg{s}_{v}_mpii_256x256.py',
                        marks=[pytest.mark.slow] if s != 2 else [])
           for s in (1, 2, 8) for v in ('res', 'hru', 'hru-deconv')]


@pytest.mark.parametrize('name', CONFIGS)
def test_hourglass_config_trains_and_validates(name, synthetic_root, tmp_path):
    cfg = Config.fromfile(osp.join(REPO, 'configs', name))
    cfg.work_dir = str(tmp_path)
    cfg.train_cfg.update(max_epochs=1, val_interval=2)  # validated once, below
    for key in ('train_dataloader', 'val_dataloader'):
        split = 'train' if key.startswith('train') else 'val'
        cfg[key].update(batch_size=2, num_workers=0, persistent_workers=False)
        cfg[key].dataset.update(data_root=synthetic_root, ann_file=f'annotations/mpii_{split}.json',
                                data_prefix=dict(img=f'images/{split}/'), indices=4)
    cfg.val_dataloader.dataset.headbox_file = osp.join(synthetic_root, 'annotations',
                                                       'mpii_gt_val.mat')
    cfg.test_dataloader = cfg.val_dataloader
    cfg.default_hooks.checkpoint.update(interval=1, save_best=None)
    cfg.log_level = 'WARNING'
    cfg.custom_hooks = []
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.val()
    assert runner.iter == 2  # 4 samples, batch 2
    assert {'PCK', 'PCK@0.1'} <= set(metrics)
    assert 0.0 <= metrics['PCK'] <= 100.0  # MpiiPCKAccuracy reports percent
