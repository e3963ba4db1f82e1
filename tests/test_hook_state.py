"""Hook state in checkpoints: one entry per hook instance, restored on
--resume only (load_from starts fresh), as mmengine's EMAHook."""
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from utils import QUICKSTART_HRGAN, run_tool, synthetic_options

from hrgan_plugin.engine.hooks import TrainingCurveHook


def _runner(hooks, resume):
    hub = SimpleNamespace(log_scalars={})
    return SimpleNamespace(hooks=hooks, _resume=resume, iter=0, message_hub=hub)


def test_two_instances_keep_separate_states_and_only_resume_restores_them():
    losses = TrainingCurveHook(keys=['loss'], interval=1)
    k_t = TrainingCurveHook(keys=['k_t'], interval=1, out_file='equilibrium.png')
    losses.history['loss'] = [(1, 0.5), (2, 0.25)]
    k_t.history['k_t'] = [(1, 0.001)]
    losses._from_outputs, losses._pending = {'loss'}, {'loss': 0.125}  # logged, not yet recorded
    checkpoint = {}
    runner = _runner([losses, k_t], resume=False)
    for hook in (losses, k_t):
        hook.before_save_checkpoint(runner, checkpoint)
    assert checkpoint['hook_states'] == {
        'TrainingCurveHook': dict(history={'loss': [(1, 0.5), (2, 0.25)]},
                                  from_outputs=['loss'], pending={'loss': 0.125}),
        'TrainingCurveHook#1': dict(history={'k_t': [(1, 0.001)]}, from_outputs=[],
                                    pending={})}

    fresh = [TrainingCurveHook(keys=['loss']), TrainingCurveHook(keys=['k_t'])]
    for hook in fresh:  # load_from: a new run, no curves carried over
        hook.after_load_checkpoint(_runner(fresh, resume=False), checkpoint)
    assert fresh[0].history == {'loss': []} and fresh[1].history == {'k_t': []}
    for hook in fresh:  # --resume
        hook.after_load_checkpoint(_runner(fresh, resume=True), checkpoint)
    assert fresh[0].history == {'loss': [(1, 0.5), (2, 0.25)]}
    assert fresh[1].history == {'k_t': [(1, 0.001)]}
    # a key taken from the step's outputs stays so after a resume (a resumed
    # run must not fill iterations without it from the message hub)
    assert fresh[0]._from_outputs == {'loss'} and fresh[0]._pending == {'loss': 0.125}


def test_load_from_does_not_restore_hook_state_but_resume_does(synthetic_root, tmp_path):
    """HRGAN quickstart, 1 epoch; then a new run with load_from (curves start
    at its first iteration) and a --resume to epoch 2 (curves continue)."""
    opts = [*synthetic_options(synthetic_root), 'train_dataloader.dataset.indices=16',
            'train_dataloader.batch_size=8', 'train_cfg.val_interval=10',
            'custom_hooks.2.interval=1', 'custom_hooks.5.interval=1']
    first, loaded = str(tmp_path / 'first'), str(tmp_path / 'loaded')
    for work_dir, extra in ((first, ['train_cfg.max_epochs=1']),
                            (loaded, ['train_cfg.max_epochs=1',
                                      f'load_from={osp.join(first, "epoch_1.pth")}']),
                            (first, ['train_cfg.max_epochs=2'])):
        resume = ['--resume'] if work_dir == first and 'max_epochs=2' in extra[0] else []
        proc = run_tool('tools/train.py', QUICKSTART_HRGAN, '--work-dir', work_dir, *resume,
                        '--cfg-options', *opts, *extra)
        assert proc.returncode == 0, proc.stderr[-3000:]
    states = torch.load(osp.join(loaded, 'epoch_1.pth'))['hook_states']
    assert [it for it, _ in states['TrainingCurveHook']['history']['loss_kpt']] == [1, 2]
    assert [it for it, _ in states['TrainingCurveHook#1']['history']['k_t']] == [1, 2]
    resumed = torch.load(osp.join(first, 'epoch_2.pth'))['hook_states']
    assert [it for it, _ in resumed['TrainingCurveHook']['history']['loss_kpt']] == [1, 2, 3, 4]
    assert [it for it, _ in resumed['TrainingCurveHook#1']['history']['k_t']] == [1, 2, 3, 4]


def test_curve_records_a_sparsely_logged_key_once_per_value():
    """adv_grad_ratio is in the step's outputs every N iterations only: each
    value is recorded once, not repeated at every curve interval until the
    next one; keys only in the message hub (k_t) are read from there."""
    from mmengine.logging import HistoryBuffer
    hook = TrainingCurveHook(keys=['loss', 'adv_grad_ratio', 'k_t'], interval=2)
    runner = _runner([hook], resume=False)
    k_t = HistoryBuffer()
    runner.message_hub.log_scalars = {'train/k_t': k_t}
    for it in range(6):
        runner.iter = it
        k_t.update(0.01 * it)
        outputs = {'loss': torch.tensor(1.0 / (it + 1))}
        if it % 4 == 0:
            outputs['adv_grad_ratio'] = torch.tensor(0.1 * (it + 1))
        hook.after_train_iter(runner, it, outputs=outputs)
    assert hook.history['loss'] == [(2, 0.5), (4, 0.25), (6, pytest.approx(1 / 6))]
    assert hook.history['adv_grad_ratio'] == [(2, pytest.approx(0.1)), (6, pytest.approx(0.5))]
    assert hook.history['k_t'] == [(2, 0.01), (4, pytest.approx(0.03)), (6, pytest.approx(0.05))]
