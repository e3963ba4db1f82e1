"""A training process killed with SIGKILL at any point (mid-epoch, while
writing a checkpoint, while mmengine rewrites last_checkpoint) leaves a
work dir that `--resume` continues from, ending with the same weights, k_t and
optimiser state as an uninterrupted run."""
import os
import os.path as osp

import pytest
from utils import QUICKSTART_HRGAN, assert_same_training_state, run_tool, synthetic_options

# Runs tools/train.py in-process and SIGKILLs it at the KILL_AT-th call of
# KILL_IN ('train_step' of the model, or 'fsync': the atomic checkpoint write,
# after the data is written and before the rename).
_KILLING_TRAIN = '''
import os, runpy, signal, sys
import hrgan_plugin.models.pose_estimators.adversarial_topdown as model_module
target, at = os.environ['KILL_IN'], int(os.environ['KILL_AT'])
calls = [0]
def killing(original):
    def wrapped(*args, **kwargs):
        calls[0] += 1
        if calls[0] == at:
            os.kill(os.getpid(), signal.SIGKILL)
        return original(*args, **kwargs)
    return wrapped
if target == 'fsync':
    os.fsync = killing(os.fsync)
else:
    cls = model_module.AdversarialTopdownPoseEstimator
    cls.train_step = killing(cls.train_step)
sys.argv = ['tools/train.py', *sys.argv[1:]]
runpy.run_path('tools/train.py', run_name='__main__')
'''


@pytest.mark.slow
def test_sigkill_anywhere_then_resume_equals_an_uninterrupted_run(synthetic_root, tmp_path):
    """About 2 minutes on 2 cores (five short runs); the atomic write itself is
    covered in the default run by test_checkpoint_safety."""
    opts = ['--cfg-options', *synthetic_options(synthetic_root),
            'train_dataloader.dataset.indices=16', 'train_dataloader.batch_size=8',
            'train_cfg.val_interval=10', 'train_cfg.max_epochs=3']
    straight, killed = str(tmp_path / 'straight'), str(tmp_path / 'killed')
    proc = run_tool('tools/train.py', QUICKSTART_HRGAN, '--work-dir', straight, *opts)
    assert proc.returncode == 0, proc.stderr[-3000:]

    def train(kill_in, kill_at, resume=True):
        env = dict(KILL_IN=kill_in, KILL_AT=str(kill_at))
        return run_tool('-c', _KILLING_TRAIN, QUICKSTART_HRGAN, '--work-dir', killed,
                        *(['--resume'] if resume else []), *opts, env=env)

    def last_checkpoint():
        with open(osp.join(killed, 'last_checkpoint')) as f:
            return osp.basename(f.read().strip())

    # mid-epoch 2 (2 iterations per epoch)
    assert train('train_step', 3, resume=False).returncode == -9
    assert last_checkpoint() == 'epoch_1.pth'
    # while writing epoch_2.pth: the file never appears under its name
    assert train('fsync', 1).returncode == -9
    assert not osp.exists(osp.join(killed, 'epoch_2.pth')) and last_checkpoint() == 'epoch_1.pth'
    # while writing epoch_3.pth, after epoch 2 was saved
    assert train('fsync', 2).returncode == -9
    assert not osp.exists(osp.join(killed, 'epoch_3.pth')) and last_checkpoint() == 'epoch_2.pth'
    # as if killed inside mmengine's in-place write of last_checkpoint
    open(osp.join(killed, 'last_checkpoint'), 'w').close()
    proc = train('fsync', 10 ** 6)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_same_training_state(osp.join(straight, 'epoch_3.pth'), osp.join(killed, 'epoch_3.pth'))
    # the temporary files of the killed saves are cleared when training restarts
    assert not [f for f in os.listdir(killed) if f.endswith('.tmp')]
