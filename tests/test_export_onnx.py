"""tools/export_onnx.py: the trained quickstart HRNet, an HRGAN generator and
a stacked hourglass round-trip through ONNX Runtime with a dynamic batch
axis, and bad checkpoints give one ``error:`` line.

Only the first export runs the tool in a subprocess (the command line as a
user runs it); the others run its ``__main__`` in this process, which saves
the seconds of importing mmpose each time."""
from __future__ import annotations

import json
import os.path as osp
import runpy

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from mmpose.apis import init_model
from utils import QUICKSTART_COCO, QUICKSTART_HRGAN, REPO, run_tool

TOOL = osp.join(REPO, 'tools', 'export_onnx.py')
QUICKSTART_HG2 = osp.join(REPO, 'configs', 'quickstart',
                          'hg2_hru-deconv_synthetic-mpii_128x128.py')


def run_in_process(monkeypatch, *args: str) -> int:
    """Run the tool as ``__main__`` with ``args``; returns its exit status."""
    monkeypatch.setattr('sys.argv', [TOOL, *args])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(TOOL, run_name='__main__')
    return exit_info.value.code


def random_checkpoint(config: str, path: str) -> torch.nn.Module:
    """The model of ``config`` with (seeded) random weights, saved to ``path``."""
    torch.manual_seed(0)
    model = init_model(config, device='cpu')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return model


def ort_heatmaps(path: str, x: torch.Tensor) -> np.ndarray:
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    [heatmaps] = session.run(['heatmaps'], {'input': x.numpy()})
    return heatmaps


def torch_heatmaps(model: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    """The estimator's backbone + head forward (``_forward``)."""
    with torch.no_grad():
        return model._forward(x).numpy()


def batch_dim(value_info) -> onnx.TensorShapeProto.Dimension:
    return value_info.type.tensor_type.shape.dim[0]


def static_dims(value_info) -> list[int]:
    return [d.dim_value for d in value_info.type.tensor_type.shape.dim[1:]]


@pytest.fixture(scope='module')
def hrnet_export(trained_run, tmp_path_factory) -> dict:
    """The trained quickstart HRNet exported by the tool in a subprocess."""
    out_dir = tmp_path_factory.mktemp('onnx_hrnet')
    onnx_path, json_path = str(out_dir / 'hrnet.onnx'), str(out_dir / 'hrnet.json')
    proc = run_tool(TOOL, QUICKSTART_COCO, trained_run['checkpoint'], onnx_path, '--batch', '3',
                    '--iters', '3', '--warmup', '1', '--json', json_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(json_path) as f:
        figures = json.load(f)
    return dict(onnx=onnx_path, figures=figures, proc=proc, checkpoint=trained_run['checkpoint'])


def test_trained_hrnet_round_trip_with_dynamic_batch(hrnet_export):
    model = onnx.load(hrnet_export['onnx'])
    [inp], [out] = model.graph.input, model.graph.output
    assert inp.name == 'input' and out.name == 'heatmaps'
    assert batch_dim(inp).dim_param == 'batch' and not batch_dim(inp).HasField('dim_value')
    assert batch_dim(out).dim_param == 'batch'
    assert static_dims(inp) == [3, 128, 96] and static_dims(out) == [17, 32, 24]

    x = torch.randn(3, 3, 128, 96, generator=torch.Generator().manual_seed(1))
    expected = torch_heatmaps(init_model(QUICKSTART_COCO, hrnet_export['checkpoint'],
                                         device='cpu'), x)
    got = ort_heatmaps(hrnet_export['onnx'], x)
    assert got.shape == expected.shape == (3, 17, 32, 24)
    assert np.abs(expected).max() > 1e-3  # trained weights, not an all-zero output
    assert np.abs(got - expected).max() <= 1e-4

    figures = hrnet_export['figures']
    assert figures['opset'] == 17 and figures['input_size'] == [96, 128]
    assert figures['num_keypoints'] == 17 and figures['heatmap_size'] == [24, 32]
    assert set(figures['max_abs_diff']) == {'1', '3'}
    assert all(0 <= d <= 1e-4 for d in figures['max_abs_diff'].values())
    ms = figures['latency_ms']
    assert ms['torch'] > 0 and ms['onnxruntime'] > 0 and figures['iters'] == 3
    assert figures['ratio_ort_torch'] == pytest.approx(ms['onnxruntime'] / ms['torch'])
    stdout = hrnet_export['proc'].stdout
    assert 'mean=[123.675, 116.28, 103.53]' in stdout and 'bgr_to_rgb=True' in stdout
    assert 'ratio ort/torch' in stdout


def test_hrgan_exports_the_generator_only(hrnet_export, tmp_path, monkeypatch):
    """An HRGAN with a random discriminator and the trained HRNet's weights as
    its generator exports to the very same weights as the HRNet."""
    model = init_model(QUICKSTART_HRGAN, device='cpu')
    trained = torch.load(hrnet_export['checkpoint'], map_location='cpu')['state_dict']
    missing, unexpected = model.load_state_dict(trained, strict=False)
    assert not unexpected and missing and all(
        k.startswith('discriminator.') or k == 'k_t' for k in missing)
    ckpt, out = str(tmp_path / 'hrgan.pth'), str(tmp_path / 'hrgan.onnx')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    assert run_in_process(monkeypatch, QUICKSTART_HRGAN, ckpt, out, '--iters', '0') == 0

    graph = onnx.load(out).graph
    [output] = graph.output
    assert batch_dim(output).dim_param == 'batch' and static_dims(output) == [17, 32, 24]
    assert not [t.name for t in graph.initializer if 'discriminator' in t.name]
    weights = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
    hrnet = {t.name: onnx.numpy_helper.to_array(t)
             for t in onnx.load(hrnet_export['onnx']).graph.initializer}
    assert weights.keys() == hrnet.keys()
    assert all(np.array_equal(weights[k], hrnet[k]) for k in weights)
    x = torch.randn(2, 3, 128, 96)
    assert ort_heatmaps(out, x).shape == (2, 17, 32, 24)
    # the HRGAN checkpoint also exports with the plain config of its generator
    plain = str(tmp_path / 'plain.onnx')
    assert run_in_process(monkeypatch, QUICKSTART_COCO, ckpt, plain, '--iters', '0') == 0
    assert {t.name for t in onnx.load(plain).graph.initializer} == weights.keys()


def test_difference_above_tolerance_exits_1(hrnet_export, tmp_path, monkeypatch, capsys):
    out = str(tmp_path / 'x.onnx')
    assert run_in_process(monkeypatch, QUICKSTART_COCO, hrnet_export['checkpoint'], out,
                          '--iters', '0', '--atol', '0') == 1
    line = _error_line(capsys)
    assert 'ONNX Runtime heatmaps differ from PyTorch by' in line and '> --atol 0' in line
    assert osp.isfile(out)  # kept for inspection


def test_stacked_hourglass_exports_last_stack(tmp_path, monkeypatch):
    model = random_checkpoint(QUICKSTART_HG2, str(tmp_path / 'hg2.pth'))
    out, figures = str(tmp_path / 'hg2.onnx'), str(tmp_path / 'hg2.json')
    assert run_in_process(monkeypatch, QUICKSTART_HG2, str(tmp_path / 'hg2.pth'), out,
                          '--iters', '0', '--json', figures) == 0

    x = torch.randn(3, 3, 128, 128, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        stacks = model._forward(x)
    assert len(stacks) == 2
    got = ort_heatmaps(out, x)
    assert got.shape == (3, 16, 32, 32)
    assert np.abs(got - stacks[-1].numpy()).max() <= 1e-4
    assert np.abs(got - stacks[0].numpy()).max() > 1e-3  # not the first stack
    with open(figures) as f:
        result = json.load(f)
    assert result['latency_ms'] is None and result['num_keypoints'] == 16
    assert all(d <= 1e-4 for d in result['max_abs_diff'].values())


def _error_line(capsys) -> str:
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: '), lines
    return lines[0]


def test_missing_checkpoint_is_one_line(tmp_path, monkeypatch, capsys):
    missing = str(tmp_path / 'none.pth')
    assert run_in_process(monkeypatch, QUICKSTART_COCO, missing, str(tmp_path / 'x.onnx')) == 2
    line = _error_line(capsys)
    assert missing in line and 'does not exist' in line
    assert not osp.exists(tmp_path / 'x.onnx')


def test_checkpoint_of_another_config_is_one_line(hrnet_export, tmp_path, monkeypatch, capsys):
    out = str(tmp_path / 'x.onnx')
    assert run_in_process(monkeypatch, QUICKSTART_HG2, hrnet_export['checkpoint'], out) == 2
    line = _error_line(capsys)
    assert f"checkpoint '{hrnet_export['checkpoint']}' does not match config " \
           f"'{QUICKSTART_HG2}'" in line
    assert 'missing keys (backbone.' in line and 'unexpected keys (backbone.' in line
    assert not osp.exists(out)
