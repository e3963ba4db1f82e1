"""HRGAN end to end: the headline config on the real COCO samples (train,
test, extraction of the generator), exact resume, and mmpose's stock demo."""
import json
import os
import os.path as osp

import pytest
import torch
from utils import (
    QUICKSTART_HRGAN,
    REPO,
    assert_same_training_state,
    real_coco_options,
    run_tool,
    scalar_records,
    synthetic_options,
)

HRGAN_COCO = osp.join(REPO, 'configs', 'hrgan_w32_coco_256x192.py')


@pytest.fixture(scope='module')
def hrgan_coco_run(testdata, tmp_path_factory):
    coco = osp.join(testdata, 'coco')
    work_dir = str(tmp_path_factory.mktemp('hrgan_coco'))
    proc = run_tool('tools/train.py', HRGAN_COCO, '--work-dir', work_dir, '--cfg-options',
                    *real_coco_options(coco))
    assert proc.returncode == 0, proc.stderr[-4000:]
    return dict(work_dir=work_dir, checkpoint=osp.join(work_dir, 'epoch_1.pth'), coco=coco,
                out=proc.stdout + proc.stderr)


def test_hrgan_w32_trains_on_real_coco_and_logs_the_game(hrgan_coco_run):
    records = scalar_records(hrgan_coco_run['work_dir'])
    train = [r for r in records if 'loss_kpt' in r]
    assert len(train) == 2  # 14 persons, batch 7
    for key in ('loss_d', 'loss_real', 'loss_fake', 'loss_adv', 'loss_g', 'k_t', 'M_global'):
        assert all(key in r for r in train), key
    # k_0 = 0 and gamma * L_real - L_fake < 0 early on: k_t stays clipped at 0
    assert all(0.0 <= r['k_t'] <= 1.0 for r in train)
    first = train[0]
    assert first['M_global'] == pytest.approx(
        first['loss_real'] + abs(0.5 * first['loss_real'] - first['loss_fake']), rel=1e-4)
    assert len([r for r in records if 'coco/AP' in r]) == 1
    assert 'k_t:' in hrgan_coco_run['out'] and 'M_global:' in hrgan_coco_run['out']
    ckpt = torch.load(hrgan_coco_run['checkpoint'], map_location='cpu')
    assert 'k_t' in ckpt['state_dict']
    assert set(ckpt['optimizer']) == {'generator', 'discriminator'}


def test_hrgan_checkpoint_runs_in_test_tool(hrgan_coco_run, tmp_path):
    proc = run_tool('tools/test.py', HRGAN_COCO, hrgan_coco_run['checkpoint'], '--work-dir',
                    str(tmp_path), '--cfg-options', *real_coco_options(hrgan_coco_run['coco']))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'coco/AP' in proc.stdout + proc.stderr


def test_extracted_generator_loads_into_plain_hrnet(hrgan_coco_run, tmp_path):
    out = str(tmp_path / 'generator.pth')
    proc = run_tool('tools/extract_generator.py', hrgan_coco_run['checkpoint'], out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    from mmengine.config import Config
    from mmpose.registry import MODELS
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'hrnet_w32_coco_256x192.py'))
    model = MODELS.build(cfg.model)
    state = torch.load(out, map_location='cpu')['state_dict']
    result = model.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    full = torch.load(hrgan_coco_run['checkpoint'], map_location='cpu')['state_dict']
    torch.testing.assert_close(state['head.final_layer.weight'],
                               full['head.final_layer.weight'])


@pytest.mark.parametrize('which', ['baseline', 'hrgan'])
def test_stock_topdown_demo_runs_our_checkpoints(which, trained_run, hrgan_coco_run, testdata,
                                                 random_person_detector, tmp_path):
    """mmpose's demo/topdown_demo_with_mmdet.py with a randomly initialised
    RTMDet person detector and our checkpoint, no environment variable set."""
    import mmpose
    demo_dir = osp.join(osp.dirname(mmpose.__file__), '.mim', 'demo')
    det_cfg, det_ckpt = random_person_detector
    pose_cfg, pose_ckpt = ((trained_run['config'], trained_run['checkpoint'])
                           if which == 'baseline' else (HRGAN_COCO, hrgan_coco_run['checkpoint']))
    image = osp.join(testdata, 'coco', '000000000785.jpg')
    env = {k: v for k, v in os.environ.items() if not k.startswith('TORCH_FORCE')}
    proc = run_tool(osp.join(demo_dir, 'topdown_demo_with_mmdet.py'), det_cfg, det_ckpt,
                    pose_cfg, pose_ckpt, '--input', image, '--output-root', str(tmp_path),
                    '--save-predictions', '--device', 'cpu',
                    '--bbox-thr', '1.0',  # random detector: one whole-image box, not ~90
                    env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert osp.isfile(tmp_path / '000000000785.jpg')
    with open(tmp_path / 'results_000000000785.json') as f:
        preds = json.load(f)
    n_kpt = len(preds['instance_info'][0]['keypoints'])
    assert n_kpt == 17


def test_resume_continues_exactly(synthetic_root, tmp_path):
    """2 epochs straight == 1 epoch, then --resume to 2: G, D, k_t, both
    optimisers and the schedulers, bitwise."""
    opts = synthetic_options(synthetic_root) + ['train_dataloader.batch_size=16',
                                                'model.warmup_iters=2']
    straight, split = str(tmp_path / 'straight'), str(tmp_path / 'split')
    proc = run_tool('tools/train.py', QUICKSTART_HRGAN, '--work-dir', straight,
                    '--cfg-options', *opts, 'train_cfg.max_epochs=2')
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = run_tool('tools/train.py', QUICKSTART_HRGAN, '--work-dir', split,
                    '--cfg-options', *opts, 'train_cfg.max_epochs=1')
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = run_tool('tools/train.py', QUICKSTART_HRGAN, '--work-dir', split, '--resume',
                    '--cfg-options', *opts, 'train_cfg.max_epochs=2')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_same_training_state(osp.join(straight, 'epoch_2.pth'), osp.join(split, 'epoch_2.pth'))
    ckpt = torch.load(osp.join(split, 'epoch_2.pth'), map_location='cpu')
    assert set(ckpt['optimizer']) == {'generator', 'discriminator'}
    assert float(ckpt['state_dict']['k_t']) > 0.0
    # the resumed run continued from epoch 1, it did not start over
    assert not osp.exists(osp.join(split, 'epoch_0.pth'))
