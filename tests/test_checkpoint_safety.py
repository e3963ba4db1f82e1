"""Checkpoints: written atomically, never with non-finite weights, opened by a
plain torch.load in a process without the plugin; older checkpoints (numpy
objects, history buffers) still load once the plugin is imported, and
arbitrary pickled code is still refused."""
import os
import pickle
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from gpu_emulation import FakeCudaTensor, to_fake_cuda
from mmengine.logging import HistoryBuffer

import hrgan_plugin  # noqa: F401
from hrgan_plugin.engine.hooks import NonFiniteWeightsError, SafeCheckpointHook
from hrgan_plugin.utils import (
    checkpoint_safe_globals,
    restore_history_buffers,
    to_weights_only,
)
from hrgan_plugin.utils.atomic_file_backend import AtomicLocalBackend


class _Evil:
    def __reduce__(self):
        return (os.system, ('echo owned',))


def test_the_allowlist_holds_data_types_only():
    """Exactly what older checkpoints need (numpy 2 names): array
    reconstruction, scalar and dtype types, and mmengine's HistoryBuffer."""
    names = {f'{g.__module__}.{g.__name__}' for g in checkpoint_safe_globals()}
    kinds = ('int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64',
             'float16', 'float32', 'float64')
    dtypes = {'Bool', 'Str', 'Int8', 'Int16', 'Int32', 'Int64', 'UInt8', 'UInt16', 'UInt32',
              'UInt64', 'Float16', 'Float32', 'Float64'}
    assert names == {
        'mmengine.logging.history_buffer.HistoryBuffer',
        'numpy._core.multiarray._reconstruct', 'numpy._core.multiarray.scalar',
        'numpy.ndarray', 'numpy.dtype', 'numpy.bool', 'numpy.str_',
        *(f'numpy.{k}' for k in kinds), *(f'numpy.dtypes.{d}DType' for d in dtypes)}


def test_older_checkpoints_load_with_the_plugin(tmp_path, monkeypatch):
    """A checkpoint as earlier versions wrote it: numpy values and history
    buffers pickled without their statistics functions."""
    monkeypatch.setattr(HistoryBuffer, '__getstate__', lambda self: {
        k: v for k, v in self.__dict__.items()}, raising=False)
    path = tmp_path / 'old.pth'
    buf = HistoryBuffer()
    buf.update(0.25)
    buf.update(0.75)
    torch.save(dict(meta=dict(seed=np.int64(3), arr=np.arange(4, dtype=np.float32),
                              flt=np.float64(0.5)),
                    message_hub=dict(log_scalars={'train/loss': buf}),
                    state_dict={'w': torch.ones(2)}), path)
    monkeypatch.undo()
    ckpt = torch.load(path)  # weights_only=True is torch's default
    assert ckpt['meta']['seed'] == 3
    np.testing.assert_array_equal(ckpt['meta']['arr'], [0, 1, 2, 3])
    assert ckpt['message_hub']['log_scalars']['train/loss'].mean() == pytest.approx(0.5)


def test_arbitrary_code_is_still_rejected(tmp_path):
    path = tmp_path / 'evil.pth'
    with open(path, 'wb') as f:
        torch.save({'x': _Evil()}, f, pickle_protocol=pickle.DEFAULT_PROTOCOL)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)


def test_weights_only_conversion_round_trips_history_buffers():
    buf = HistoryBuffer(max_length=5)
    for v, n in ((0.5, 2), (1.5, 1)):
        buf.update(v, n)
    state = dict(meta=dict(seed=np.int64(7), colors=np.array([[255, 0, 0], [0, 255, 0]]),
                           pair=(np.float32(0.5), 'a')),
                 message_hub=dict(log_scalars={'train/loss': buf}, runtime_info={'iter': 3}))
    plain = to_weights_only(state)
    assert plain['meta'] == dict(seed=7, colors=[[255, 0, 0], [0, 255, 0]], pair=(0.5, 'a'))
    assert type(plain['meta']['seed']) is int
    tagged = plain['message_hub']['log_scalars']['train/loss']
    assert tagged['log'].tolist() == [0.5, 1.5] and tagged['count'].tolist() == [2.0, 1.0]
    back = restore_history_buffers(plain['message_hub'])['log_scalars']['train/loss']
    assert isinstance(back, HistoryBuffer) and back.max_length == 5
    assert back.mean() == buf.mean() and back.current() == 1.5


def test_history_buffers_come_back_from_cuda_tensors():
    """On a GPU host Runner.resume loads the checkpoint with a CUDA
    map_location before SafeCheckpointHook.after_load_checkpoint turns the
    tagged dicts back into history buffers."""
    buf = HistoryBuffer(max_length=4)
    for v in (0.5, 1.5, 2.5):
        buf.update(v)
    hub = to_fake_cuda(to_weights_only(dict(log_scalars={'train/loss': buf})))
    assert isinstance(hub['log_scalars']['train/loss']['log'], FakeCudaTensor)
    checkpoint = dict(message_hub=hub)
    SafeCheckpointHook(interval=1).after_load_checkpoint(SimpleNamespace(), checkpoint)
    back = checkpoint['message_hub']['log_scalars']['train/loss']
    assert isinstance(back, HistoryBuffer) and back.max_length == 4
    np.testing.assert_array_equal(back.data[0], [0.5, 1.5, 2.5])
    assert back.mean() == pytest.approx(1.5) and back.current() == 2.5


def test_atomic_write_keeps_the_old_file_when_interrupted(tmp_path, monkeypatch):
    path = tmp_path / 'epoch_1.pth'
    backend = AtomicLocalBackend()
    backend.put(b'old checkpoint', path)

    def killed(fd):
        raise KeyboardInterrupt  # the process dies between writing and renaming

    monkeypatch.setattr(os, 'fsync', killed)
    with pytest.raises(KeyboardInterrupt):
        backend.put(b'new checkp', path)
    assert path.read_bytes() == b'old checkpoint'
    assert os.listdir(tmp_path) == ['epoch_1.pth']  # no temporary file left behind
    monkeypatch.undo()
    backend.put_text('epoch_2.pth', tmp_path / 'last_checkpoint')
    assert (tmp_path / 'last_checkpoint').read_text() == 'epoch_2.pth'


def test_non_finite_weights_are_never_saved(tmp_path):
    hook = SafeCheckpointHook(interval=1)
    runner = SimpleNamespace(iter=41, work_dir=str(tmp_path))
    checkpoint = dict(state_dict={'a': torch.ones(2), 'head.w': torch.tensor([1.0, float('nan')]),
                                  'n': torch.tensor(3)}, meta={})
    with pytest.raises(NonFiniteWeightsError, match=r"iteration 41: weight 'head.w' is not "
                                                    r"finite; no checkpoint written"):
        hook.before_save_checkpoint(runner, checkpoint)
    checkpoint['state_dict']['head.w'] = torch.zeros(2)
    checkpoint['meta'] = dict(seed=np.int64(1))
    hook.before_save_checkpoint(runner, checkpoint)
    assert checkpoint['meta'] == dict(seed=1)


def test_trained_checkpoint_loads_without_the_plugin(trained_run):
    """Plain torch.load (weights_only default) opens the runner's checkpoint in
    a process that never imports the plugin; mmpose's init_model loads it."""
    ckpt = trained_run['checkpoint']
    bare = subprocess.run(
        [sys.executable, '-c', 'import sys, torch; c = torch.load(sys.argv[1]); '
         'assert "hrgan_plugin" not in sys.modules; print(sorted(c))', ckpt],
        capture_output=True, text=True)
    assert bare.returncode == 0, bare.stderr[-2000:]
    assert "'message_hub'" in bare.stdout and "'state_dict'" in bare.stdout
    from mmpose.apis import init_model
    model = init_model(trained_run['config'], ckpt, device='cpu')
    state = torch.load(ckpt, map_location='cpu')['state_dict']
    key = 'head.final_layer.weight'
    torch.testing.assert_close(model.state_dict()[key], state[key])


def test_restart_clears_what_a_killed_save_left(tmp_path):
    """Before --resume reads last_checkpoint: a killed atomic save's temporary
    file goes, and a last_checkpoint emptied by a kill names the newest
    checkpoint again (tests/test_crash_resume.py kills real runs, slow)."""
    for name in ('epoch_1.pth', 'epoch_2.pth', 'epoch_10.pth', 'best_PCK_epoch_2.pth'):
        (tmp_path / name).write_bytes(b'x')
    (tmp_path / '.epoch_11.pth.abc123.tmp').write_bytes(b'half')
    (tmp_path / 'last_checkpoint').write_text('')
    hook = SafeCheckpointHook(interval=1)
    hook.before_run(SimpleNamespace(work_dir=str(tmp_path)))
    assert not list(tmp_path.glob('*.tmp')) and not list(tmp_path.glob('.*.tmp'))
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'epoch_10.pth')
    hook.before_run(SimpleNamespace(work_dir=str(tmp_path)))  # a valid one is left alone
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'epoch_10.pth')
