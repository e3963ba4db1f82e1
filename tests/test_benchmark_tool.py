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
        assert set(row) == {'data', 'train', 'infer', 'infer_flip', 'train_img_s'}
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
