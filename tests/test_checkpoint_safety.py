"""Checkpoints written by mmengine load under torch's weights_only default
once the plugin is imported, and arbitrary pickled code is still refused."""
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

import hrgan_plugin  # noqa: F401


class _Evil:
    def __reduce__(self):
        return (os.system, ('echo owned',))


def test_runner_style_objects_load_with_weights_only(tmp_path):
    path = tmp_path / 'ckpt.pth'
    buf = HistoryBuffer()
    buf.update(0.25)
    buf.update(0.75)
    torch.save(dict(meta=dict(seed=np.int64(3), arr=np.arange(4, dtype=np.float32),
                              flt=np.float64(0.5)),
                    message_hub=dict(log_scalars={'train/loss': buf}),
                    state_dict={'w': torch.ones(2)}), path)
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


def test_trained_checkpoint_needs_the_plugin_and_loads_with_it(trained_run):
    """Without the plugin torch refuses the runner's checkpoint; with it,
    mmpose's init_model loads the weights."""
    ckpt = trained_run['checkpoint']
    bare = subprocess.run([sys.executable, '-c', f'import torch; torch.load({ckpt!r})'],
                          capture_output=True, text=True)
    assert bare.returncode != 0 and 'Unsupported global' in bare.stderr
    from mmpose.apis import init_model
    model = init_model(trained_run['config'], ckpt, device='cpu')
    state = torch.load(ckpt, map_location='cpu')['state_dict']
    key = 'head.final_layer.weight'
    torch.testing.assert_close(model.state_dict()[key], state[key])
