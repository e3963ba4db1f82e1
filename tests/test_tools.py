"""tools/train.py and tools/test.py on the synthetic and the real sample data,
and the one-line errors for bad input."""
import json
import math
import os.path as osp
import shutil
import sys
from types import SimpleNamespace

from mmengine.config import Config
from utils import (
    QUICKSTART_COCO,
    QUICKSTART_HRGAN,
    QUICKSTART_MPII,
    REPO,
    real_coco_options,
    run_tool,
    scalar_records,
    single_error_line,
    synthetic_options,
)


def test_train_and_validate_on_synthetic_coco(trained_run, synthetic_root):
    work_dir = trained_run['work_dir']
    records = scalar_records(work_dir)
    train = [r for r in records if 'loss_kpt' in r]
    val = [r for r in records if 'coco/AP' in r]
    with open(osp.join(synthetic_root, 'annotations', 'coco_train.json')) as f:
        persons = len(json.load(f)['annotations'])
    # one logged iteration per batch of 8: the broken image's persons are
    # replaced by other samples, not dropped
    assert len(train) == math.ceil(persons / 8)
    assert all(r['loss_kpt'] > 0 for r in train)
    assert len(val) == 1 and 0.0 <= val[0]['coco/AP'] <= 1.0
    # the corrupt image was skipped with a warning naming it, and training went on
    assert 'skipping unreadable image' in trained_run['proc'].stdout + trained_run['proc'].stderr
    assert '000000000005.jpg' in trained_run['proc'].stdout + trained_run['proc'].stderr
    with open(osp.join(work_dir, 'loss_curve.png'), 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def test_test_tool_runs_trained_checkpoint(trained_run, synthetic_root, tmp_path):
    proc = run_tool('tools/test.py', QUICKSTART_COCO, trained_run['checkpoint'],
                    '--work-dir', str(tmp_path), '--cfg-options',
                    *synthetic_options(synthetic_root))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'coco/AP' in proc.stdout + proc.stderr


def test_train_mpii_quickstart_validates_pckh(synthetic_root, tmp_path):
    proc = run_tool('tools/train.py', QUICKSTART_MPII, '--work-dir', str(tmp_path),
                    '--cfg-options', *synthetic_options(synthetic_root, 'mpii'),
                    'train_dataloader.batch_size=16')
    assert proc.returncode == 0, proc.stderr[-3000:]
    val = [r for r in scalar_records(str(tmp_path)) if 'PCK' in r]
    assert len(val) == 1 and 0.0 <= val[0]['PCK'] <= 100.0  # percent
    assert 'Head PCK' in val[0] and 'PCK@0.1' in val[0]


def test_train_on_real_coco_samples(testdata, tmp_path):
    """The real HRNet-W32 COCO config on the 4 real COCO images (from scratch:
    no network here for the ImageNet weights)."""
    coco = osp.join(testdata, 'coco')
    proc = run_tool('tools/train.py', osp.join(REPO, 'configs', 'hrnet_w32_coco_256x192.py'),
                    '--work-dir', str(tmp_path), '--cfg-options', *real_coco_options(coco))
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = scalar_records(str(tmp_path))
    assert len([r for r in records if 'loss_kpt' in r]) == 2  # 14 persons, batch 7
    assert len([r for r in records if 'coco/AP' in r]) == 1
    assert osp.isfile(osp.join(str(tmp_path), 'epoch_1.pth'))


def test_missing_data_root_is_one_line(tmp_path):
    missing = str(tmp_path / 'nowhere')
    proc = run_tool('tools/train.py', QUICKSTART_COCO, '--work-dir', str(tmp_path / 'w'),
                    '--cfg-options', f'train_dataloader.dataset.data_root={missing}/')
    line = single_error_line(proc)
    assert missing in line and 'train_dataloader.dataset.data_root' in line


def test_invalid_json_is_one_line_naming_the_file(synthetic_root, tmp_path):
    root = tmp_path / 'broken'
    shutil.copytree(synthetic_root, root)
    bad = root / 'annotations' / 'coco_train.json'
    bad.write_text('{"images": [')
    proc = run_tool('tools/train.py', QUICKSTART_COCO, '--work-dir', str(tmp_path / 'w'),
                    '--cfg-options', *synthetic_options(str(root)))
    line = single_error_line(proc)
    assert str(bad) in line and 'not valid JSON' in line


def test_unreachable_pretrained_weights_is_one_line(testdata, tmp_path):
    coco = osp.join(testdata, 'coco')
    url = 'https://127.0.0.1:9/hrnet_w32-36af842e.pth'
    proc = run_tool(
        'tools/train.py', osp.join(REPO, 'configs', 'hrnet_w32_coco_256x192.py'),
        '--work-dir', str(tmp_path / 'w'), '--cfg-options',
        f'model.backbone.init_cfg.checkpoint={url}',
        f'train_dataloader.dataset.data_root={coco}/',
        'train_dataloader.dataset.ann_file=test_coco.json',
        'train_dataloader.dataset.data_prefix.img=',
        f'val_dataloader.dataset.data_root={coco}/', 'val_dataloader.dataset.bbox_file=None',
        'val_dataloader.dataset.ann_file=test_coco.json',
        'val_dataloader.dataset.data_prefix.img=',
        env={'TORCH_HOME': str(tmp_path / 'torch_home')})
    line = single_error_line(proc)
    assert url in line and 'model.backbone.init_cfg.checkpoint=' in line
    assert 'model.backbone.init_cfg=None' in line


def test_missing_checkpoint_is_one_line(tmp_path):
    proc = run_tool('tools/test.py', QUICKSTART_COCO, str(tmp_path / 'none.pth'))
    line = single_error_line(proc)
    assert 'none.pth' in line


def test_multi_process_test_writes_its_metrics_json_on_rank_0(monkeypatch):
    """tools/test.py with a launcher swaps the stock LoggerHook for
    RankZeroLoggerHook (tests/test_rank_agreement.py shows why); a
    one-process test or a config's own logger hook is left as it is."""
    from hrgan_plugin.utils.tool_runner import _test_log_on_rank_zero
    stock = Config(dict(default_hooks=dict(logger=dict(type='LoggerHook', interval=50))))
    own = Config(dict(default_hooks=dict(logger=dict(type='MyLoggerHook'))))
    swap = ['--cfg-options', 'default_hooks.logger.type=RankZeroLoggerHook']
    for launcher, cfg, added in (('pytorch', stock, swap), ('slurm', stock, swap),
                                 ('none', stock, []), ('pytorch', own, [])):
        monkeypatch.setattr(sys, 'argv', ['test.py'])
        _test_log_on_rank_zero(SimpleNamespace(launcher=launcher), cfg)
        assert sys.argv[1:] == added, (launcher, cfg.default_hooks.logger.type)


def test_quickstart_draws_predictions(synthetic_root, tmp_path):
    """tools/quickstart.py trains, validates and draws skeletons on val images
    (mmengine serialises the dataset, so the boxes come from get_data_info)."""
    import cv2
    import numpy as np
    work = tmp_path / 'qs'
    proc = run_tool('tools/quickstart.py', QUICKSTART_COCO, '--work-dir', str(work),
                    '--num-vis', '2', '--cfg-options', *synthetic_options(synthetic_root))
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((work / 'quickstart_summary.json').read_text())
    assert len(summary['vis']) == 2
    for path in summary['vis']:
        drawn = cv2.imread(path)
        src = cv2.imread(osp.join(synthetic_root, 'images', 'val', osp.basename(path)))
        assert drawn is not None and drawn.shape == src.shape
        # boxes and skeletons change a visible share of the pixels
        changed = np.abs(drawn.astype(int) - src.astype(int)).max(axis=2) > 60
        assert changed.mean() > 0.005, changed.mean()


def test_truncated_checkpoint_is_one_line(trained_run, synthetic_root, tmp_path):
    """A checkpoint cut short (a crash while copying it) is refused by
    `--resume` and by tools/test.py with one line naming the file."""
    cut = tmp_path / 'cut.pth'
    data = open(trained_run['checkpoint'], 'rb').read()
    cut.write_bytes(data[:len(data) // 2])
    work_dir = tmp_path / 'work'
    train = run_tool('tools/train.py', QUICKSTART_COCO, '--work-dir', str(work_dir),
                     '--resume', str(cut), '--cfg-options', *synthetic_options(synthetic_root))
    line = single_error_line(train)
    assert f"checkpoint '{cut}' cannot be read by torch.load" in line
    test = run_tool('tools/test.py', QUICKSTART_COCO, str(cut),
                    '--cfg-options', *synthetic_options(synthetic_root))
    assert f"checkpoint '{cut}' cannot be read by torch.load" in single_error_line(test)
    assert cut.read_bytes() == data[:len(data) // 2]  # nothing touched


def test_resume_from_another_configs_checkpoint_is_one_line(trained_run, synthetic_root,
                                                            tmp_path):
    """An HRNet checkpoint resumed under the HRGAN config: one line naming both
    files and the discriminator keys the checkpoint lacks; no training starts."""
    work_dir = tmp_path / 'work'
    proc = run_tool('tools/train.py', QUICKSTART_HRGAN, '--work-dir', str(work_dir),
                    '--resume', trained_run['checkpoint'],
                    '--cfg-options', *synthetic_options(synthetic_root))
    line = single_error_line(proc)
    assert f"checkpoint '{trained_run['checkpoint']}' does not match config" in line
    assert 'missing keys (k_t, discriminator.stem.conv.weight' in line
    assert not (work_dir / 'last_checkpoint').exists()


def test_unreadable_validation_image_is_one_line(trained_run, synthetic_root, tmp_path):
    """Training skips an unreadable image; validation and testing must score
    every image, so they stop with one line naming the file."""
    val_images = tmp_path / 'val_images'
    shutil.copytree(osp.join(synthetic_root, 'images', 'val'), val_images)
    with open(osp.join(synthetic_root, 'annotations', 'coco_val.json')) as f:
        broken = val_images / json.load(f)['images'][0]['file_name']
    broken.write_bytes(b'not a jpeg')
    opts = [*synthetic_options(synthetic_root),
            f'val_dataloader.dataset.data_prefix.img={val_images}/',
            f'test_dataloader.dataset.data_prefix.img={val_images}/']
    train = run_tool('tools/train.py', QUICKSTART_COCO, '--work-dir', str(tmp_path / 'work'),
                     '--cfg-options', *opts, 'train_dataloader.dataset.indices=8')
    assert train.returncode == 1 and 'Traceback' not in train.stderr, train.stderr[-3000:]
    line = train.stderr.strip().splitlines()[-1]
    assert line.startswith(f"training stopped: image '{broken}' cannot be read"), line
    assert osp.isfile(tmp_path / 'work' / 'epoch_1.pth')  # the trained epoch is kept
    test = run_tool('tools/test.py', QUICKSTART_COCO, trained_run['checkpoint'],
                    '--cfg-options', *opts)
    assert test.returncode == 1 and 'Traceback' not in test.stderr, test.stderr[-3000:]
    assert test.stderr.strip().splitlines()[-1].startswith(
        f"testing stopped: image '{broken}' cannot be read")


def test_mmpose_analysis_tools_run_on_our_logs_and_configs(trained_run, tmp_path):
    """mmpose's own tools/analysis_tools on a training log and a config of
    ours, in the environment `make install` builds (seaborn included)."""
    import glob

    import mmpose
    tools = osp.join(osp.dirname(mmpose.__file__), '.mim', 'tools', 'analysis_tools')
    logs = [p for p in glob.glob(osp.join(trained_run['work_dir'], '*', 'vis_data', '*.json'))
            if osp.basename(p) != 'scalars.json']
    assert len(logs) == 1, logs
    out = tmp_path / 'loss.png'
    plot = run_tool(osp.join(tools, 'analyze_logs.py'), 'plot_curve', logs[0], '--keys',
                    'loss_kpt', '--backend', 'Agg', '--out', str(out))
    assert plot.returncode == 0, plot.stderr[-2000:]
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    timing = run_tool(osp.join(tools, 'analyze_logs.py'), 'cal_train_time', logs[0])
    assert timing.returncode == 0 and 'average iter time' in timing.stdout, timing.stderr[-2000:]
    printed = run_tool(osp.join(tools, 'print_config.py'), QUICKSTART_HRGAN)
    assert printed.returncode == 0 and "type='SafeCheckpointHook'" in printed.stdout, \
        printed.stderr[-2000:]
