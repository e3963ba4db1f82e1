"""The SLURM paths on a real one-node cluster (the ``slurm_cluster`` fixture,
tests/slurm_cluster.py): the cluster itself, tools/slurm_train.sh and
tools/slurm_test.sh through mmengine's slurm launcher on 2 CPU processes
(gloo), and mim's slurm launcher. tools/experiment.py --launcher slurm:
tests/test_slurm_experiment.py."""
from __future__ import annotations

import json
import os
import os.path as osp
import pickle
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest
import slurm_cluster as cluster_module
import torch
from slurm_cluster import ClusterUnavailable, LocalSlurm, free_port, scontrol_job
from utils import (
    QUICKSTART_HRGAN,
    REPO,
    assert_same,
    assert_same_training_state,
    run_tool,
    synthetic_options,
)

TESTS = osp.join(REPO, 'tests')
RANK_CONFIG = """
_base_ = [{base!r}]
custom_imports = dict(imports=['hrgan_plugin', 'rank_state_hook'], allow_failed_imports=False)
custom_hooks = _base_.custom_hooks + [dict(type='RankStateHook'{hook_args})]
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f'/proc/{pid}/stat') as f:  # a zombie has ended
        return f.read().rsplit(')', 1)[1].split()[0] != 'Z'


def _wait_gone(cluster: LocalSlurm, job: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while job in cluster.jobs():
        assert time.monotonic() < deadline, f'job {job} still queued after {timeout} s'
        time.sleep(0.2)


def _queue_empties(cluster: LocalSlurm, timeout: float = 30) -> None:
    """The job ends (COMPLETING included) within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while cluster.jobs():
        assert time.monotonic() < deadline, f'jobs {cluster.jobs()} still in the queue'
        time.sleep(0.2)


def test_missing_slurm_packages_are_named(monkeypatch, tmp_path):
    """Without the programs and without a way to install them, the cluster
    refuses in one line naming the programs and their Debian packages (the
    fixture skips with it)."""
    monkeypatch.setattr(cluster_module, 'INSTALL_LOCK', str(tmp_path / 'lock'))
    monkeypatch.setattr(cluster_module, 'missing_programs', lambda: ['munged', 'sbatch'])
    monkeypatch.setattr(cluster_module, 'which', lambda program: None)
    with pytest.raises(ClusterUnavailable, match=r'^munged, sbatch not installed \(Debian '
                       r'packages munge slurm-client\), and no apt-get to install them$'):
        cluster_module.ensure_packages()
    monkeypatch.setattr(cluster_module, 'which', lambda program: f'/usr/bin/{program}'
                        if program == 'apt-get' else None)
    monkeypatch.setattr(os, 'geteuid', lambda: 1000)
    with pytest.raises(ClusterUnavailable, match=r'and apt-get needs root \(no passwordless '
                       r'sudo\)$'):
        cluster_module.ensure_packages()


def test_cluster_runs_arrays_dependencies_and_gpus(slurm_cluster, tmp_path):
    """An array of 2 tasks with one (fake) GPU each sees CUDA_VISIBLE_DEVICES
    set; a job waits for it (afterok); a job with a failing command ends
    FAILED with its exit code; an impossible request is refused at once."""
    c = slurm_cluster
    out = str(tmp_path / '%A_%a.out')
    array = c.run('sbatch', '--parsable', '--array=0-1', '--gres=gpu:1', '-o', out, '--wrap',
                  'sleep 1; echo "task=$SLURM_ARRAY_TASK_ID gpus=$CUDA_VISIBLE_DEVICES"')
    array = array.stdout.strip()
    after = c.run('sbatch', '--parsable', f'--dependency=afterok:{array}', '-o',
                  str(tmp_path / 'after.out'), '--wrap', 'echo after').stdout.strip()
    assert scontrol_job(c, after)['JobState'] == 'PENDING'
    assert scontrol_job(c, after)['Reason'] == 'Dependency'
    failing = c.run('sbatch', '--parsable', '-o', str(tmp_path / 'fail.out'), '--wrap',
                    'exit 3').stdout.strip()
    start = time.monotonic()
    impossible = c.run('sbatch', '--gres=gpu:3', '--wrap', 'true', check=False)
    assert impossible.returncode != 0 and time.monotonic() - start < 10
    assert 'Requested node configuration is not available' in impossible.stderr
    for job in (array, after, failing):
        _wait_gone(c, job)
    lines = sorted((tmp_path / f'{array}_{i}.out').read_text().strip() for i in (0, 1))
    assert lines[0].startswith('task=0 gpus=') and lines[1].startswith('task=1 gpus=')
    assert {line[-1] for line in lines} <= {'0', '1'}  # one of the two fake GPUs each
    assert (tmp_path / 'after.out').read_text() == 'after\n'
    state = scontrol_job(c, failing)
    assert (state['JobState'], state['ExitCode']) == ('FAILED', '3:0')
    # without slurmdbd, sacct reads the job completion log
    sacct = c.run('sacct', '-c', '-n', '-P', '-o', 'JobID,State', '-j', failing).stdout
    assert f'{failing}|FAILED' in sacct


def test_cluster_stop_ends_every_process(tmp_path):
    """A second cluster with a job still running: stop() cancels it and
    stops the daemons; none of its processes (daemons, job step, task) is
    left."""
    cluster = LocalSlurm(tempfile.mkdtemp(prefix='hrgan-slurm-'))  # short socket paths
    try:
        cluster.start()
        pid_file = tmp_path / 'task.pid'
        cluster.run('sbatch', '-o', '/dev/null', '--wrap',
                    f'echo $$ $PPID > {pid_file}; exec sleep 600')
        deadline = time.monotonic() + 30
        while not pid_file.exists() or not pid_file.read_text().strip():
            assert time.monotonic() < deadline, 'the job did not start'
            time.sleep(0.1)
        task, step = map(int, pid_file.read_text().split())
        daemons = [p.pid for p in cluster.procs.values()]
        assert all(_alive(p) for p in (task, step, *daemons))
        assert set(cluster.leftover()) >= {task, step, *daemons}
    finally:
        left = cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)
    assert left == []
    assert not any(_alive(p) for p in (task, step, *daemons))


def _slurm_script(cluster: LocalSlurm, script: str, *args: str, cpu_only: bool = False,
                  python: str = sys.executable, **env: str) -> subprocess.CompletedProcess:
    """``bash tools/<script> debug JOB args`` on the test cluster: 2 tasks
    (with a fake GPU each, or CPU_ONLY), one CPU each, a free master port."""
    env = cluster.env(GPUS='2', GPUS_PER_NODE='2', CPUS_PER_TASK='1', PYTHON=python,
                      MASTER_PORT=str(free_port()), PYTHONPATH=TESTS,
                      CPU_ONLY='1' if cpu_only else '0', **env)
    return subprocess.run(['bash', osp.join(REPO, 'tools', script), 'debug', 'hrgan-test',
                           *args], env=env, capture_output=True, text=True, timeout=600)


def test_slurm_train_failing_rank_fails_the_job(slurm_cluster, tmp_path):
    """slurm_train.sh's srun line on the real cluster with CPU_ONLY=1 and a
    stand-in Python: no GPU visible to the tasks; rank 1 exits 3 while rank
    0 would run for minutes; the job fails at once (--kill-on-bad-exit) and
    neither rank is left."""
    stub = tmp_path / 'python'
    stub.write_text(f'#!/bin/sh\necho "$$ gpus=${{CUDA_VISIBLE_DEVICES-unset}}" > '
                    f'{tmp_path}/rank$SLURM_PROCID.pid\n'
                    'if [ "$SLURM_PROCID" = 1 ]; then sleep 1; exit 3; fi\nexec sleep 300\n')
    stub.chmod(0o755)
    start = time.monotonic()
    proc = _slurm_script(slurm_cluster, 'slurm_train.sh', 'cfg.py', str(tmp_path / 'work'),
                         python=str(stub), cpu_only=True)
    took = time.monotonic() - start
    assert proc.returncode != 0 and took < 60, proc.stderr
    assert 'task 1: exited with exit code 3' in proc.stderr.lower()
    records = [(tmp_path / f'rank{r}.pid').read_text().split() for r in (0, 1)]
    assert [gpus for _, gpus in records] == ['gpus=', 'gpus=']  # set, empty
    assert not any(_alive(int(pid)) for pid, _ in records)
    _queue_empties(slurm_cluster)
    print(f'failing rank (stand-in), job ended in {took:.1f} s')


def _rank_config(tmp_path, **hook_args) -> str:
    path = tmp_path / 'hrgan_ranks.py'
    args = ''.join(f', {k}={v!r}' for k, v in hook_args.items())
    path.write_text(RANK_CONFIG.format(base=QUICKSTART_HRGAN, hook_args=args))
    return str(path)


def _train_options(root: str, epochs: int) -> list[str]:
    """2 ranks x batch 4 over 16 images: 2 iterations an epoch; no validation."""
    return [*synthetic_options(root), f'train_cfg.max_epochs={epochs}',
            'train_cfg.val_interval=100', 'train_dataloader.batch_size=4',
            'train_dataloader.dataset.indices=16']


def test_slurm_train_two_ranks_stay_identical(slurm_cluster, synthetic_root, tmp_path):
    """tools/slurm_train.sh with 2 tasks, one fake GPU each (CPU torch: the
    plugin's gloo group from SLURM's variables): the quickstart HRGAN for 2
    iterations through --launcher slurm; both ranks see different data and
    end with bitwise the same weights, BN buffers and k_t."""
    work = tmp_path / 'work'
    start = time.monotonic()
    proc = _slurm_script(slurm_cluster, 'slurm_train.sh', _rank_config(tmp_path), str(work),
                         '--cfg-options', *_train_options(synthetic_root, 1))
    took = time.monotonic() - start
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    a, b = (torch.load(work / f'rank{r}.pth', weights_only=False) for r in (0, 1))
    assert a['world_size'] == b['world_size'] == 2 and a['backend'] == 'gloo'
    assert len(a['losses']) == len(b['losses']) == 2
    assert all(x['loss_kpt'] != y['loss_kpt'] for x, y in zip(a['losses'], b['losses']))
    assert_same(a['state'], b['state'])
    assert a['state']['k_t'].item() > 0  # the equilibrium hook moved it, alike on both
    ckpt = torch.load(work / 'epoch_1.pth', weights_only=False)
    assert ckpt['meta']['iter'] == 2
    assert list(ckpt['state_dict']) == list(a['state'])  # one-process keys, no DDP module.
    assert 'Distributed launcher: slurm' in proc.stdout + proc.stderr
    assert 'GPU number: 2' in proc.stdout + proc.stderr  # mmengine's name for the world size
    print(f'slurm_train.sh, 2 ranks, 2 iterations: {took:.1f} s')


@pytest.mark.slow
def test_slurm_train_resume_and_slurm_test(slurm_cluster, synthetic_root, tmp_path):
    """CPU_ONLY=1 (no GPUs requested, none visible): 2 epochs in one job
    against 1 epoch then --resume to 2 in a second job give bitwise the
    same training state; tools/slurm_test.sh on 2 tasks scores the
    checkpoint as tools/test.py does in one process."""
    config = _rank_config(tmp_path)
    times = {}
    for name, epochs, extra in (('straight', 2, []), ('split', 1, []),
                                ('split', 2, ['--resume'])):
        start = time.monotonic()
        proc = _slurm_script(slurm_cluster, 'slurm_train.sh', config, str(tmp_path / name),
                             *extra, '--cfg-options', *_train_options(synthetic_root, epochs),
                             cpu_only=True)
        times[f'{name} {epochs}'] = time.monotonic() - start
        assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert 'resumed epoch: 1, iter: 2' in proc.stdout + proc.stderr
    ckpt = str(tmp_path / 'split' / 'epoch_2.pth')
    assert_same_training_state(str(tmp_path / 'straight' / 'epoch_2.pth'), ckpt)
    a, b = (torch.load(tmp_path / 'split' / f'rank{r}.pth', weights_only=False) for r in (0, 1))
    assert_same(a['state'], b['state'])

    # the checkpoint scored (COCO AP is 0 after 4 iterations; PCK@0.5 of the
    # bbox is not) and its predictions dumped, in 2 SLURM tasks and in one process
    evaluator = [dict(type='CocoMetric', ann_file=f'{synthetic_root}/annotations/coco_val.json'),
                 dict(type='PCKAccuracy', thr=0.5, norm_item='bbox')]
    eval_config = tmp_path / 'eval.py'
    eval_config.write_text(f'_base_ = [{config!r}]\ntest_evaluator = {evaluator!r}\n')
    test_options = ['--cfg-options', *[o for o in synthetic_options(synthetic_root)
                                       if o.startswith('test_dataloader')]]
    start = time.monotonic()
    two = _slurm_script(slurm_cluster, 'slurm_test.sh', str(eval_config), ckpt, '--work-dir',
                        str(tmp_path / 'test_two'), '--dump', str(tmp_path / 'two.pkl'),
                        *test_options, cpu_only=True)
    times['slurm_test'] = time.monotonic() - start
    assert two.returncode == 0, (two.stdout + two.stderr)[-4000:]
    one = run_tool(osp.join(REPO, 'tools', 'test.py'), str(eval_config), ckpt, '--work-dir',
                   str(tmp_path / 'test_one'), '--dump', str(tmp_path / 'one.pkl'),
                   *test_options, env=dict(PYTHONPATH=TESTS))
    assert one.returncode == 0, one.stderr[-4000:]
    metrics = [_test_metrics(tmp_path / f'test_{n}') for n in ('one', 'two')]
    assert metrics[0]['PCK'] > 0 and metrics[0] == pytest.approx(metrics[1], abs=1e-4)
    preds = []
    for name in ('one', 'two'):
        with open(tmp_path / f'{name}.pkl', 'rb') as f:
            preds.append({p['id']: p['pred_instances'] for p in pickle.load(f)})
    with open(osp.join(synthetic_root, 'annotations', 'coco_val.json')) as f:
        persons = len(json.load(f)['annotations'])
    assert len(preds[0]) == persons and preds[0].keys() == preds[1].keys()  # each once
    for ann_id, p in preds[0].items():  # other batch sizes round differently: 0.1 px
        np.testing.assert_allclose(preds[1][ann_id]['keypoints'], p['keypoints'], atol=0.1)
    print(f'times (s): {times}; metrics {metrics[0]}')


def _test_metrics(work_dir) -> dict:
    [run] = [d for d in os.listdir(work_dir) if osp.isdir(osp.join(work_dir, d))]
    with open(osp.join(work_dir, run, f'{run}.json')) as f:
        record = json.loads(f.readline())
    return {k: v for k, v in record.items() if k.startswith('coco/') or k == 'PCK'}


def test_slurm_train_rank_that_raises_fails_the_job(slurm_cluster, synthetic_root, tmp_path):
    """Real training: rank 1 raises after its first iteration while rank 0
    waits in the next all-reduce; srun ends the job non-zero and neither
    rank's process is left."""
    work = tmp_path / 'work'
    start = time.monotonic()
    proc = _slurm_script(slurm_cluster, 'slurm_train.sh', _rank_config(tmp_path, fail_rank=1),
                         str(work), '--cfg-options', *_train_options(synthetic_root, 1),
                         cpu_only=True)
    took = time.monotonic() - start
    assert proc.returncode != 0
    assert 'rank 1 fails on purpose after iteration 1' in proc.stdout + proc.stderr
    pids = [int((work / f'rank{r}.pid').read_text()) for r in (0, 1)]
    assert not any(_alive(p) for p in pids)
    _queue_empties(slurm_cluster)
    print(f'failing rank job: {took:.1f} s')


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason='shows the CPU-only limit of mim')
def test_mim_slurm_launcher_needs_a_gpu(slurm_cluster, synthetic_root, tmp_path):
    """``mim train mmpose CONFIG --launcher slurm`` runs mmpose's stock
    tools/train.py under srun; mmengine's slurm set-up selects a CUDA
    device for every rank, which fails on a node without a GPU driver."""
    venv_bin = osp.dirname(sys.executable)
    env = slurm_cluster.env(PATH=f'{venv_bin}:{os.environ["PATH"]}')
    proc = subprocess.run(
        ['mim', 'train', 'mmpose', QUICKSTART_HRGAN, '--launcher', 'slurm', '--gpus', '2',
         '--gpus-per-node', '2', '--cpus-per-task', '1', '--partition', 'debug',
         '--srun-args', '',  # unset, mim 0.3.9 under this click fails on .split()
         '--work-dir', str(tmp_path / 'work'), '--cfg-options',
         *_train_options(synthetic_root, 1)],
        cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert 'srun -p debug --gres=gpu:2 --ntasks=2' in out  # mim's srun line ran
    assert 'torch.cuda.set_device(local_rank)' in out and 'NVIDIA driver' in out
    _queue_empties(slurm_cluster)
