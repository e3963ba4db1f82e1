"""Hook state in checkpoints: one entry per hook instance, restored on
--resume only (load_from starts fresh), as mmengine's EMAHook."""
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from gpu_emulation import FakeCudaTensor, run_tool_on_emulated_gpu, to_fake_cuda
from mmengine.hooks import Hook
from utils import QUICKSTART_HRGAN, run_tool, synthetic_options

from hrgan_plugin.engine.hooks import SafeCheckpointHook, TrainingCurveHook
from hrgan_plugin.engine.hooks.hook_state import CheckpointStateMixin


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


def test_load_from_does_not_restore_hook_state_but_resume_on_a_gpu_does(synthetic_root,
                                                                        tmp_path):
    """HRGAN quickstart, 1 epoch; then a new run with load_from (curves start
    at its first iteration) and a --resume to epoch 2 (curves continue) on an
    emulated GPU host: Runner.resume loads every tensor as a CUDA tensor, and
    the history buffers of the message hub come back from them (the loss
    history holds epoch 1's iterations next to epoch 2's)."""
    opts = [*synthetic_options(synthetic_root), 'train_dataloader.dataset.indices=16',
            'train_dataloader.batch_size=8', 'train_cfg.val_interval=10',
            'custom_hooks.2.interval=1', 'custom_hooks.5.interval=1']
    first, loaded = str(tmp_path / 'first'), str(tmp_path / 'loaded')
    for work_dir, extra in ((first, ['train_cfg.max_epochs=1']),
                            (loaded, ['train_cfg.max_epochs=1',
                                      f'load_from={osp.join(first, "epoch_1.pth")}'])):
        proc = run_tool('tools/train.py', QUICKSTART_HRGAN, '--work-dir', work_dir,
                        '--cfg-options', *opts, *extra)
        assert proc.returncode == 0, proc.stderr[-3000:]
    resumed = run_tool_on_emulated_gpu('tools/train.py', QUICKSTART_HRGAN, '--work-dir', first,
                                       '--resume', '--cfg-options', *opts,
                                       'train_cfg.max_epochs=2')
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    [emulated] = [ln for ln in resumed.stdout.splitlines() if ln.startswith('emulated GPU')]
    tensors = int(emulated.split()[3])
    assert tensors > 100 and emulated.endswith('in 1 loads'), emulated  # weights, optimisers...
    hub = torch.load(osp.join(first, 'epoch_2.pth'))['message_hub']
    assert len(hub['log_scalars']['train/loss_kpt']['log']) == 4  # 2 iterations per epoch
    torch.testing.assert_close(
        hub['log_scalars']['train/loss_kpt']['log'][:2],
        torch.load(osp.join(first, 'epoch_1.pth'))['message_hub']['log_scalars'][
            'train/loss_kpt']['log'], rtol=0, atol=0)
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


class _StatefulHook(CheckpointStateMixin, Hook):
    """A hook whose state (a network's weights, an optimiser's buffers)
    lives on the GPU."""

    def __init__(self, state: dict) -> None:
        self.state = state

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        self.save_state(runner, checkpoint, self.state)


def test_hook_state_from_a_gpu_is_saved_on_the_cpu(tmp_path):
    """mmengine moves only the model, optimiser and message hub to the CPU:
    a hook's CUDA tensors are moved by save_state, so the checkpoint opens
    with a plain torch.load on a machine without a GPU."""
    weights = {'net.w': torch.tensor([[0.25, -1.0]]), 'step': torch.tensor(7)}
    hook = _StatefulHook(to_fake_cuda(dict(net=weights, moments=[torch.ones(2)], stage=2)))
    assert isinstance(hook.state['net']['net.w'], FakeCudaTensor)
    runner = _runner([hook], resume=False)
    checkpoint = dict(state_dict={'w': torch.zeros(1)}, meta={})
    hook.before_save_checkpoint(runner, checkpoint)
    SafeCheckpointHook(interval=1).before_save_checkpoint(runner, checkpoint)
    path = tmp_path / 'gpu_run.pth'
    torch.save(checkpoint, path)
    state = torch.load(path)['hook_states']['_StatefulHook']  # weights_only default
    assert state['stage'] == 2 and state['moments'][0].tolist() == [1.0, 1.0]
    assert state['net']['net.w'].tolist() == [[0.25, -1.0]] and state['net']['step'].item() == 7
    assert all(type(t) is torch.Tensor for t in (state['net']['net.w'], state['moments'][0]))
    assert isinstance(hook.state['net']['net.w'], FakeCudaTensor)  # the hook's own stays put
