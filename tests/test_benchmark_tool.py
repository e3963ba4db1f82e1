"""tools/benchmark.py times two configs interleaved, measures each one's peak
memory in its own process, and writes the ratios."""
import json

from utils import QUICKSTART_COCO, QUICKSTART_HRGAN, run_tool


def test_benchmark_compares_two_configs(synthetic_root, tmp_path):
    out = tmp_path / 'bench.json'
    proc = run_tool('tools/benchmark.py', QUICKSTART_COCO, '--vs', QUICKSTART_HRGAN,
                    '--iters', '2', '--warmup', '1', '--batch', '4', '--device', 'cpu',
                    '--data-root', f'{synthetic_root}/', '--out', str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    rows = result['medians_s']
    assert set(rows) == {'hrnet_synthetic-coco_128x96', 'hrgan_synthetic-coco_128x96'}
    for row in rows.values():
        assert set(row) == {'data', 'train', 'forward', 'infer', 'infer_flip', 'train_img_s'}
        assert all(v > 0 for v in row.values())
        assert row['train_img_s'] == 4 / row['train']
    ratio = result['ratio']
    assert ratio['numerator'] == 'hrgan_synthetic-coco_128x96'
    assert ratio['train'] == rows['hrgan_synthetic-coco_128x96']['train'] / rows[
        'hrnet_synthetic-coco_128x96']['train']
    assert 'time ratio (second / first)' in proc.stdout
    assert f'training speed-up of the second: {1 / ratio["train"]:.2f}x' in proc.stdout
    # peak memory, one process per config
    memory = result['memory_mib']
    assert set(memory) == set(rows)
    for m in memory.values():
        assert m['peak_rss_mib'] > 200  # torch + mmpose alone take more
        assert 0 <= m['training_rss_rise_mib'] < m['peak_rss_mib']
    assert ratio['memory'] == (memory['hrgan_synthetic-coco_128x96']['peak_rss_mib']
                               / memory['hrnet_synthetic-coco_128x96']['peak_rss_mib'])
    assert 'memory ratio (second / first)' in proc.stdout


def test_benchmark_without_data_is_one_line(tmp_path):
    proc = run_tool('tools/benchmark.py', QUICKSTART_COCO, '--data-root', str(tmp_path / 'no'),
                    '--out', str(tmp_path / 'b.json'))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith('error: ')


def test_cpu_amp_on_a_gpu_host_autocasts_the_cpu(synthetic_root, tmp_path, monkeypatch):
    """``--device cpu --amp`` where mmengine's get_device() says 'cuda' (a
    GPU host): the benchmarked model's forward, in its optimiser wrapper's
    AMP region, runs under CPU bfloat16 autocast, rather than under a CUDA
    autocast that leaves CPU ops in fp32. (The step's accuracy meter, numpy
    of bfloat16 heatmaps, is another matter and not run here.)"""
    import argparse
    import importlib.util

    import mmengine.runner.amp
    import torch
    from mmengine.optim.optimizer import amp_optimizer_wrapper
    from utils import REPO

    spec = importlib.util.spec_from_file_location('benchmark_tool', f'{REPO}/tools/benchmark.py')
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    # a GPU host: mmengine's device is CUDA, and AmpOptimWrapper accepts the host
    monkeypatch.setattr(mmengine.runner.amp, 'get_device', lambda: 'cuda')
    monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available', lambda: True)
    args = argparse.Namespace(batch=2, device='cpu', data_root=f'{synthetic_root}/')
    bench = benchmark.Bench(QUICKSTART_COCO, args, str(tmp_path), amp=True)
    model = bench.runner.model
    data = model.data_preprocessor(bench.batch, True)
    with bench.runner.optim_wrapper.optim_context(model):
        autocast = torch.is_autocast_enabled('cpu'), torch.get_autocast_dtype('cpu')
        features = model.extract_feat(data['inputs'])
    assert autocast == (True, torch.bfloat16)
    assert [f.dtype for f in features] == [torch.bfloat16]


def test_mmpose_configs_are_named_by_their_package_scope(synthetic_root, tmp_path):
    """``mmpose::PATH`` (docs/cost_and_speed.md: stock HRNet-W32 against ours)
    loads mmpose's packaged config and puts the synthetic data under it."""
    import argparse
    import importlib.util

    from utils import REPO

    spec = importlib.util.spec_from_file_location('benchmark_tool', f'{REPO}/tools/benchmark.py')
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    args = argparse.Namespace(batch=2, device='cpu', data_root=f'{synthetic_root}/')
    cfg = benchmark.bench_config(
        'mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_hrnet-w32_8xb64-210e_coco-256x192.py',
        args, str(tmp_path), amp=False)
    assert cfg.model.backbone.type == 'HRNet' and cfg.train_cfg.max_epochs == 210
    assert cfg.train_dataloader.dataset.data_root == f'{synthetic_root}/'
    assert cfg.train_dataloader.batch_size == 2
