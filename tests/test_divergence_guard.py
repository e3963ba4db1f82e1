"""DivergenceGuardHook: a non-finite loss or a collapsed GAN stops training
with one line and exit 1; no checkpoint with bad weights is written, and
--resume continues from the last good one."""
import os
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import HistoryBuffer
from utils import QUICKSTART_HRGAN, assert_same_training_state, run_tool, synthetic_options

from hrgan_plugin.engine.hooks import DivergenceError, DivergenceGuardHook


def _runner(it, scalars=None):
    return SimpleNamespace(iter=it, message_hub=SimpleNamespace(log_scalars=scalars or {}))


def test_non_finite_loss_stops_at_once():
    hook = DivergenceGuardHook()
    hook.after_train_iter(_runner(0), 0, outputs=dict(loss_kpt=torch.tensor(0.5)))
    with pytest.raises(DivergenceError, match=r'^iteration 8: loss_kpt = nan$'):
        hook.after_train_iter(_runner(7), 7, outputs=dict(loss_kpt=torch.tensor(float('nan'))))
    with pytest.raises(DivergenceError, match=r'^iteration 9: loss_g = inf$'):
        hook.after_train_iter(_runner(8), 8, outputs=dict(loss_g=float('inf')))


def test_collapse_stops_after_patience_consecutive_iterations():
    """L_real at 0 (D reconstructs real heatmaps perfectly) for 3 iterations in
    a row; an in-range iteration in between resets the count. k_t (logged by
    another hook) checked from the message hub."""
    hook = DivergenceGuardHook(limits=dict(loss_real=(1e-8, None), k_t=(None, 0.99)),
                               patience=3)
    k_t = HistoryBuffer()
    k_t.update(0.5)
    scalars = {'train/k_t': k_t}
    for it, real in enumerate([0.0, 0.0, 1e-3, 0.0, 0.0]):
        hook.after_train_iter(_runner(it, scalars), it, outputs=dict(loss_real=real))
    with pytest.raises(DivergenceError,
                       match=r'^iteration 6: loss_real = 0 outside \[1e-08, None\] for 3 iter'):
        hook.after_train_iter(_runner(5, scalars), 5, outputs=dict(loss_real=0.0))
    pinned = DivergenceGuardHook(limits=dict(k_t=(None, 0.99)), patience=1)
    k_t.update(1.0)
    with pytest.raises(DivergenceError, match=r'^iteration 1: k_t = 1 outside'):
        pinned.after_train_iter(_runner(0, scalars), 0, outputs={})


def _stopped_line(proc) -> str:
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr
    line = [ln for ln in proc.stderr.splitlines() if ln.strip()][-1]
    assert line.startswith('training stopped: iteration '), line
    return line


def test_absurd_learning_rate_stops_the_run_with_one_line(synthetic_root, tmp_path):
    proc = run_tool('tools/train.py', QUICKSTART_HRGAN, '--work-dir', str(tmp_path),
                    '--cfg-options', *synthetic_options(synthetic_root),
                    'train_dataloader.dataset.indices=32', 'train_dataloader.batch_size=8',
                    'optim_wrapper.generator.optimizer.lr=1e30')
    line = _stopped_line(proc)
    assert ' = nan' in line or ' = inf' in line, line
    assert not [f for f in os.listdir(tmp_path) if f.endswith('.pth')]


def test_nan_after_a_good_epoch_keeps_it_and_resume_continues(synthetic_root, tmp_path):
    """Epoch 1 trains; epoch 2 (resumed with the heatmap loss weighted by NaN)
    stops at its first iteration: epoch_1.pth stays the newest checkpoint and
    last_checkpoint names it; resuming without the fault then trains epoch 2
    exactly as an uninterrupted run. About 70 s on 2 cores: four short runs
    (the resume paths cannot be shown with fewer)."""
    opts = [*synthetic_options(synthetic_root), 'train_dataloader.dataset.indices=16',
            'train_dataloader.batch_size=8', 'train_cfg.val_interval=10']
    run, straight = str(tmp_path / 'run'), str(tmp_path / 'straight')

    def train(work_dir, epochs, resume=False, *fault):
        return run_tool('tools/train.py', QUICKSTART_HRGAN, '--work-dir', work_dir,
                        *(['--resume'] if resume else []), '--cfg-options', *opts, *fault,
                        f'train_cfg.max_epochs={epochs}')

    assert train(run, 1).returncode == 0
    line = _stopped_line(train(run, 2, True, 'model.head.loss.loss_weight=nan'))
    assert line == 'training stopped: iteration 3: loss_kpt = nan'
    assert sorted(f for f in os.listdir(run) if f.startswith('epoch_')) == ['epoch_1.pth']
    with open(osp.join(run, 'last_checkpoint')) as f:
        assert osp.basename(f.read().strip()) == 'epoch_1.pth'
    assert train(run, 2, True).returncode == 0
    assert train(straight, 2).returncode == 0
    assert_same_training_state(osp.join(straight, 'epoch_2.pth'), osp.join(run, 'epoch_2.pth'))
