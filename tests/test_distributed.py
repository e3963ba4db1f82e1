"""Multi-process training on gloo (CPU), checked against itself and against
one process: HRGAN's generator, discriminator, gradients and k_t, and the
augmentation network stay identical on every rank, and two processes with
half the batch each follow the same trajectory as one process with the whole
batch (tools/dist_train.sh against tools/train.py)."""
import json
import os
import os.path as osp
import pickle
import random
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from utils import CORRUPT_IMAGE, QUICKSTART_HRGAN, REPO, assert_same, run_tool, synthetic_options

QUICKSTART = osp.join(REPO, 'configs', 'quickstart')
HRNET_QUICKSTART = osp.join(QUICKSTART, 'hrnet_synthetic-coco_128x96.py')
DUMP = osp.join(REPO, 'tests', 'dist_state_dump.py')

# Per-sample independent training for the 1-vs-2-process comparison: no random
# augmentation (worker seeds differ by rank), BN statistics frozen in the
# generator and GroupNorm in the discriminator (a batch of 8 and two of 4 then
# compute the same thing), a fixed sampler seed, and SGD: Adam's first steps
# are lr * sign(grad), which turns float noise in near-zero gradients into
# full-size steps.
SGD = "dict(_delete_=True, type='SGD', lr=0.05, momentum=0.9)"
BATCH_INDEPENDENT = """
_base_ = {base!r}
train_dataloader = dict(
    sampler=dict(seed=0),
    dataset=dict(pipeline=[
        dict(type='LoadImageOrSkip'), dict(type='GetBBoxCenterScale'),
        dict(type='TopdownAffine', input_size={{{{_base_.codec.input_size}}}}),
        dict(type='GenerateTarget', encoder={{{{_base_.codec}}}}),
        dict(type='PackPoseInputs')]))
model = dict(backbone=dict(norm_eval=True){extra_model})
optim_wrapper = {optim}
"""


def _port() -> str:
    return str(random.Random().randint(20000, 40000))


def _dump(nproc: int, config: str, out_dir, *options: str):
    """Run dist_state_dump.py on ``nproc`` processes (plain python for 1);
    returns the per-rank dumps."""
    os.makedirs(out_dir, exist_ok=True)
    launch = (['-m', 'torch.distributed.run', '--nproc_per_node', str(nproc), '--master_port',
               _port()] if nproc > 1 else [])
    proc = run_tool(*launch, DUMP, config, str(out_dir), *options)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return [torch.load(osp.join(out_dir, f'rank{r}.pth'), weights_only=False)
            for r in range(nproc)]


def _dist_script(script: str, cwd, *args: str) -> subprocess.CompletedProcess:
    """``bash tools/<script> args`` from ``cwd`` on a free port, this interpreter."""
    return subprocess.run(['bash', osp.join(REPO, 'tools', script), *args], cwd=str(cwd),
                          capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, PORT=_port(), PYTHON=sys.executable))


def _train_options(root: str, fmt: str = 'coco') -> list[str]:
    return [o for o in synthetic_options(root, fmt) if not o.startswith(('val', 'test'))]


def test_hrgan_ranks_stay_identical(synthetic_root, tmp_path):
    """Different data on each rank; the same G and D gradients, weights and k_t."""
    a, b = _dump(2, QUICKSTART_HRGAN, tmp_path, *_train_options(synthetic_root),
                 'train_dataloader.batch_size=4', 'train_dataloader.dataset.indices=24')
    assert a['wrapper'] == 'MMSeparateDistributedDataParallel'
    assert a['child'] == 'MMDistributedDataParallel'  # D in its own DDP
    assert len(a['iters']) == len(b['iters']) == 3
    # the ranks saw different samples: their local losses differ ...
    assert all(ra['losses']['loss_kpt'] != rb['losses']['loss_kpt']
               for ra, rb in zip(a['iters'], b['iters']))
    # ... yet every optimiser step used the same (all-reduced) gradients
    for net in ('generator', 'discriminator'):
        assert len(a['grads'][net]) == 3
        for ga, gb in zip(a['grads'][net], b['grads'][net]):
            torch.testing.assert_close(ga, gb, rtol=0, atol=0, msg=net)
            assert ga.abs().sum() > 0
    assert [r['k_t'] for r in a['iters']] == [r['k_t'] for r in b['iters']]
    assert_same(a['state'], b['state'])  # weights, BN buffers, k_t
    assert a['state']['k_t'].item() > 0.0  # the equilibrium hook moved it, alike on both


HRGAN_WITH_ASR_AHO = """
_base_ = {base!r}
custom_hooks = [
    dict(type='SyncBuffersHook'),
    dict(type='EpochSeedHook'),
    dict(type='BoundaryEquilibriumHook', gamma=0.5, lambda_k=1e-3),
    dict(type='AdversarialAugmentationHook', split=(1, 1, 1), agent_pretrain_iters=1,
         hardness_norm='bbox', hardness_thr=0.05, optimizer=dict(type='RMSprop', lr=1e-4)),
]
"""


def test_hrgan_with_asr_aho_ranks_stay_identical(synthetic_root, tmp_path):
    """The quickstart HRGAN with ASR + AHO on 2 ranks: one agent pre-training
    update (its own phase, before the first epoch) and three joint
    iterations leave the augmentation net, its optimiser, its progress and
    logged distributions identical on both ranks, next to G, D, their
    gradients and k_t."""
    config = tmp_path / 'hrgan_asr_aho.py'
    config.write_text(HRGAN_WITH_ASR_AHO.format(base=QUICKSTART_HRGAN))
    a, b = _dump(2, str(config), tmp_path, *_train_options(synthetic_root),
                 'train_dataloader.batch_size=6', 'train_dataloader.dataset.indices=36')
    assert len(a['iters']) == 3
    assert a['aug']['agent_pretrain_done'] == b['aug']['agent_pretrain_done'] == 1
    assert_same(a['aug'], b['aug'])  # net, its optimiser, stage
    assert [r['aug'] for r in a['iters']] == [r['aug'] for r in b['iters']]
    assert set(a['iters'][0]['aug']) == {f'train/aug_entropy_{k}'
                                         for k in ('scale', 'rotation', 'occlusion')}
    for net in ('generator', 'discriminator'):
        for ga, gb in zip(a['grads'][net], b['grads'][net]):
            torch.testing.assert_close(ga, gb, rtol=0, atol=0, msg=net)
    assert [r['k_t'] for r in a['iters']] == [r['k_t'] for r in b['iters']]
    assert_same(a['state'], b['state'])


def _clean_train_options(root: str, tmp_path) -> list[str]:
    """Train on the synthetic set less its corrupt image: skipping it draws a
    random replacement, which differs between a 1- and a 2-process run."""
    with open(osp.join(root, 'annotations', 'coco_train.json')) as f:
        coco = json.load(f)
    bad = {im['id'] for im in coco['images'] if im['file_name'] == CORRUPT_IMAGE}
    coco['images'] = [im for im in coco['images'] if im['id'] not in bad]
    coco['annotations'] = [a for a in coco['annotations'] if a['image_id'] not in bad]
    ann_file = tmp_path / 'coco_train_clean.json'
    ann_file.write_text(json.dumps(coco))
    return [f'train_dataloader.dataset.ann_file={ann_file}',
            'train_dataloader.dataset.indices=24']


def _hook_index(config: str, hook: str = 'ChannelsLastHook') -> int:
    return [h['type'] for h in Config.fromfile(config).custom_hooks].index(hook)


def _batch_independent_config(tmp_path, base: str, optim: str, extra_model: str = '') -> str:
    path = tmp_path / 'batch_independent.py'
    path.write_text(BATCH_INDEPENDENT.format(base=base, optim=optim, extra_model=extra_model))
    return str(path)


def test_two_processes_match_one_process(synthetic_root, tmp_path):
    """The baseline for 3 iterations: tools/train.py with batch 8 against
    tools/dist_train.sh with 2 processes of batch 4 (same global batch), the
    latter with ChannelsLastHook switched on for CPU (NHWC activations under DDP)."""
    config = _batch_independent_config(tmp_path, HRNET_QUICKSTART, f'dict(optimizer={SGD})')
    options = [*synthetic_options(synthetic_root), 'train_cfg.val_interval=2',
               *_clean_train_options(synthetic_root, tmp_path)]
    one = run_tool(osp.join(REPO, 'tools', 'train.py'), config, '--work-dir',
                   str(tmp_path / 'one'), '--cfg-options', *options)
    assert one.returncode == 0, one.stderr[-4000:]
    two = _dist_script('dist_train.sh', tmp_path, config, '2', '--work-dir',
                       str(tmp_path / 'two'), '--cfg-options', *options,
                       'train_dataloader.batch_size=4',
                       f'custom_hooks.{_hook_index(config)}.devices=[cpu]')
    assert two.returncode == 0, (two.stdout + two.stderr)[-4000:]
    a, b = (torch.load(tmp_path / run / 'epoch_1.pth', weights_only=False)
            for run in ('one', 'two'))
    assert a['meta']['iter'] == b['meta']['iter'] == 3
    assert_same(a['state_dict'], b['state_dict'], rtol=1e-5, atol=1e-6)
    assert_same(a['optimizer']['state'], b['optimizer']['state'],  # momentum: sum of grads
                rtol=1e-4, atol=1e-8)


def test_hrgan_two_processes_match_one_process(synthetic_root, tmp_path):
    """HRGAN: same global batch on 1 and 2 processes gives the same G and D
    gradients at every step, the same k_t trajectory and the same weights."""
    config = _batch_independent_config(
        tmp_path, QUICKSTART_HRGAN,
        f'dict(generator=dict(optimizer={SGD}), discriminator=dict(optimizer={SGD}))',
        ", discriminator=dict(norm_cfg=dict(type='GN', num_groups=4))")
    options = [*_train_options(synthetic_root), *_clean_train_options(synthetic_root, tmp_path)]
    (one,) = _dump(1, config, tmp_path / 'one', *options)
    two = _dump(2, config, tmp_path / 'two', *options, 'train_dataloader.batch_size=4')
    for net in ('generator', 'discriminator'):
        assert len(one['grads'][net]) == 3
        for g1, g2 in zip(one['grads'][net], two[0]['grads'][net]):
            torch.testing.assert_close(g1, g2, rtol=1e-4, atol=1e-7, msg=net)
    k_one = [r['k_t'] for r in one['iters']]
    assert k_one[-1] > 0
    for rank in two:
        torch.testing.assert_close([r['k_t'] for r in rank['iters']], k_one, rtol=1e-5,
                                   atol=1e-9)
    assert_same(one['state'], two[0]['state'], rtol=1e-5, atol=1e-6)


def test_dist_test_script_matches_one_process_test(trained_run, synthetic_root, tmp_path):
    """tools/dist_test.sh on 2 gloo processes predicts every validation person
    once, with the keypoints of a 1-process tools/test.py run, and scores the
    gathered predictions to the same metrics."""
    os.makedirs(tmp_path / 'data')
    os.symlink(synthetic_root, tmp_path / 'data' / 'synthetic')  # the config's data root
    args = [trained_run['config'], trained_run['checkpoint']]
    one = run_tool(osp.join(REPO, 'tools', 'test.py'), *args, '--work-dir',
                   str(tmp_path / 'one'), '--dump', str(tmp_path / 'one.pkl'), cwd=str(tmp_path))
    assert one.returncode == 0, one.stderr[-3000:]
    two = _dist_script('dist_test.sh', tmp_path, *args, '2', '--work-dir',
                       str(tmp_path / 'two'), '--dump', str(tmp_path / 'two.pkl'))
    assert two.returncode == 0, (two.stdout + two.stderr)[-4000:]
    preds = {}
    for run in ('one', 'two'):
        with open(tmp_path / f'{run}.pkl', 'rb') as f:
            preds[run] = {p['id']: p['pred_instances'] for p in pickle.load(f)}
    with open(osp.join(synthetic_root, 'annotations', 'coco_val.json')) as f:
        assert len(preds['two']) == len(json.load(f)['annotations'])  # each person once
    assert preds['one'].keys() == preds['two'].keys()
    for ann_id, p in preds['one'].items():
        # batches of other sizes round differently, and the decoder's sub-pixel
        # refinement amplifies it (up to 0.046 px measured): within 1/10 pixel
        np.testing.assert_allclose(preds['two'][ann_id]['keypoints'], p['keypoints'],
                                   rtol=0, atol=0.1)
        np.testing.assert_allclose(preds['two'][ann_id]['keypoint_scores'],
                                   p['keypoint_scores'], rtol=1e-5, atol=1e-6)
    metrics = [_test_metrics(tmp_path / run) for run in ('one', 'two')]
    assert 'coco/AP' in metrics[0] and metrics[0] == pytest.approx(metrics[1], abs=1e-4)


def _test_metrics(work_dir) -> dict:
    """The metrics line of a test run's ``<timestamp>/<timestamp>.json``."""
    [run] = [d for d in os.listdir(work_dir) if osp.isdir(osp.join(work_dir, d))]
    with open(osp.join(work_dir, run, f'{run}.json')) as f:
        record = json.loads(f.readline())
    return {k: v for k, v in record.items() if k.startswith('coco/')}


def test_slurm_scripts_build_mmpose_srun_commands(tmp_path):
    """From another directory, with a stand-in ``srun`` that records its
    arguments: mmpose's srun line, absolute tool paths, extra args passed on."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    (bin_dir / 'srun').write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$SRUN_LOG"\n')
    (bin_dir / 'srun').chmod(0o755)
    env = dict(os.environ, PATH=f'{bin_dir}:{os.environ["PATH"]}', GPUS='16',
               GPUS_PER_NODE='8', SRUN_ARGS='--quotatype=auto')
    calls = {  # script: (arguments, the tool's arguments srun must end with)
        'slurm_train.sh': (['part', 'job', 'cfg.py', 'work', '--resume'],
                           ['cfg.py', '--work-dir=work', '--launcher=slurm', '--resume']),
        'slurm_test.sh': (['part', 'job', 'cfg.py', 'ckpt.pth', '--work-dir', 'out'],
                          ['cfg.py', 'ckpt.pth', '--launcher=slurm', '--work-dir', 'out']),
    }
    for script, (args, tail) in calls.items():
        log = tmp_path / f'{script}.log'
        proc = subprocess.run(['bash', osp.join(REPO, 'tools', script), *args],
                              cwd=str(tmp_path), env=dict(env, SRUN_LOG=str(log)),
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        argv = log.read_text().split('\n')[:-1]
        assert argv[:2] == ['-p', 'part'] and '--job-name=job' in argv
        assert {'--gres=gpu:8', '--ntasks=16', '--ntasks-per-node=8', '--kill-on-bad-exit=1',
                '--quotatype=auto'} <= set(argv)
        tool = osp.join(REPO, 'tools', script.replace('slurm_', '').replace('.sh', '.py'))
        assert argv[argv.index('-u') + 1:] == [tool, *tail]
