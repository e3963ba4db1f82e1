"""tools/experiment.py --launcher slurm on the one-node cluster (the
``slurm_cluster`` fixture, tests/slurm_cluster.py): the runner submits the
pretrain run and the arms as SLURM arrays chained by ``afterok``, picks up
jobs already queued after an interruption, reports failed runs with their
logs and resubmits only those, and a tiny spec trained as a SLURM array
gives the same runs.csv and curves as the local runner."""
from __future__ import annotations

import csv
import json
import os
import os.path as osp
import time

import pytest
from slurm_cluster import scontrol_job
from utils import (
    QUICKSTART_COCO,
    QUICKSTART_HRGAN,
    REPO,
    run_tool,
    tiny_spec_options,
    write_spec,
)

STUB_TRAIN = '''\
"""Stands in for tools/train.py: coco/AP = stub_value after a second, and
a checkpoint; fails (exit 1) for a config with stub_fail, and for one with
stub_interrupted stops after an epoch-1 checkpoint unless it is resumed."""
import json, os, re, sys, time
import torch
config, work_dir = sys.argv[1], sys.argv[sys.argv.index('--work-dir') + 1]
text = open(config).read()
value = re.search(r'stub_value = ([\\d.]+)', text)
resumed = '--resume' in sys.argv
time.sleep(1)
if 'stub_fail = True' in text:
    sys.exit('stub: this run fails')


def checkpoint(epoch):  # as mmengine's CheckpointHook leaves one
    path = os.path.join(work_dir, f'epoch_{epoch}.pth')
    torch.save(dict(state_dict={}, meta=dict(iter=epoch)), path)
    with open(os.path.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write(path)


if resumed:
    print('stub: resumed from', open(os.path.join(work_dir, 'last_checkpoint')).read())
elif 'stub_interrupted = True' in text:
    checkpoint(1)
    sys.exit('stub: stopped after epoch 1')
vis = os.path.join(work_dir, '2000010%d_000000' % (1 + resumed), 'vis_data')
os.makedirs(vis)
with open(os.path.join(vis, 'scalars.json'), 'w') as f:
    f.write(json.dumps(dict(iter=1 + resumed, loss_kpt=1.0)) + '\\n')
    f.write(json.dumps({'coco/AP': float(value.group(1) if value else 0), 'step': 1}) + '\\n')
checkpoint(1 + resumed)
'''


def _stub_runner(tmp_path, monkeypatch, **spec):
    """tools/experiment.py's ``main`` with the stand-in train.py, the spec
    with the fields ``spec``, and its ``--launcher slurm`` arguments."""
    monkeypatch.syspath_prepend(osp.join(REPO, 'tools'))
    import experiment
    tools = tmp_path / 'tools'
    tools.mkdir()
    (tools / 'train.py').write_text(STUB_TRAIN)
    monkeypatch.setattr(experiment, 'TOOLS', str(tools))
    out = tmp_path / 'out'
    return experiment, [write_spec(tmp_path / 'stub.py', 'Stand-in runs.', **spec), '--out',
                        str(out), '--launcher', 'slurm', '--device', 'cpu', '--poll', '0.3'], out


def test_experiment_runner_on_slurm(slurm_cluster, tmp_path, monkeypatch, capsys):
    """tools/experiment.py --launcher slurm with a stand-in train.py: the
    pretrain run, then arms a and b waiting for it (afterok); the runner
    interrupted right after submitting leaves the jobs queued, the same
    command picks them up (no new job), reports the failed run b with its
    log and writes runs.csv and the report from a; a rerun submits only b."""
    from hrgan_plugin.experiments import slurm
    monkeypatch.setenv('SLURM_CONF', slurm_cluster.conf)
    experiment, args, out = _stub_runner(
        tmp_path, monkeypatch, pretrain=dict(config=QUICKSTART_COCO),
        arms=dict(a=dict(config=QUICKSTART_COCO, cfg_options=dict(stub_value=0.25)),
                  b=dict(config=QUICKSTART_COCO, cfg_options=dict(stub_value=0.5,
                                                                  stub_fail=True))),
        baseline='a', seeds=[0], metrics={'coco/AP': 'higher'}, primary='coco/AP')

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(slurm, 'wait', interrupted)
        assert experiment.main(args) == 130
    err = capsys.readouterr().err
    assert 'the SLURM jobs keep running' in err and 'submitted.json' in err
    pretrain, arms = slurm.read_ledger(str(out))
    assert [r['dir'] for r in pretrain['runs']] == [str(out / 'runs' / '_pretrain' / 'seed0')]
    assert [r['dir'] for r in arms['runs']] == [str(out / 'runs' / n / 'seed0') for n in 'ab']
    assert {pretrain['job'], arms['job']} <= set(slurm_cluster.jobs())  # still queued
    assert scontrol_job(slurm_cluster, f'{arms["job"]}_0')['Dependency'] in (
        f'afterok:{pretrain["job"]}_0(unfulfilled)', '(null)')  # (null): already met

    start = time.monotonic()
    assert experiment.main(args) == 1  # one run failed
    took = time.monotonic() - start
    stdout, err = capsys.readouterr()
    assert 'SLURM: picked up 3 run(s)' in stdout and 'submitted job' not in stdout
    assert len(slurm.read_ledger(str(out))) == 2
    assert 'SLURM: 2/3 done, 0 running, 0 pending, 1 failed\n' in stdout and 'ETA' in stdout
    train_log = out / 'runs' / 'b' / 'seed0' / 'train.log'
    assert f'b seed 0 failed (exit 1); see {train_log}' in err
    assert f'SLURM log {out}/slurm/logs/{arms["job"]}_1.out' in err
    assert 'stub: this run fails' in train_log.read_text()
    with open(out / 'runs.csv') as f:
        rows = [(r['arm'], r['seed'], r['coco/AP']) for r in csv.DictReader(f)]
    assert rows == [('a', '0', '0.25')]
    assert (out / 'report.md').read_text().count('SLURM, default partition, CPU') == 1

    with monkeypatch.context() as m:  # a rerun submits the failed run alone
        m.setattr(slurm, 'wait', interrupted)
        assert experiment.main(args) == 130
    assert '1 finished, 1 to run' in capsys.readouterr().out
    ledger = slurm.read_ledger(str(out))
    assert len(ledger) == 3 and [r['dir'] for r in ledger[-1]['runs']] == [str(
        out / 'runs' / 'b' / 'seed0')]
    slurm_cluster.run('scancel', ledger[-1]['job'])
    print(f'runner on SLURM, 3 stand-in runs picked up: {took:.1f} s')


def test_stopped_slurm_run_continues_from_its_checkpoint(slurm_cluster, tmp_path, monkeypatch,
                                                        capsys):
    """A task that stopped after a checkpoint (killed, preempted, out of
    time) leaves its run's folder: the next runner submits the run again
    without clearing it, and the task trains from the checkpoint
    (``--resume``); the result counts both segments."""
    from hrgan_plugin.experiments import slurm
    monkeypatch.setenv('SLURM_CONF', slurm_cluster.conf)
    experiment, args, out = _stub_runner(
        tmp_path, monkeypatch,
        arms=dict(a=dict(config=QUICKSTART_COCO,
                         cfg_options=dict(stub_value=0.25, stub_interrupted=True))),
        baseline='a', seeds=[0], metrics={'coco/AP': 'higher'}, primary='coco/AP')
    run_dir = out / 'runs' / 'a' / 'seed0'
    assert experiment.main(args) == 1
    assert '1 failed' in capsys.readouterr().out
    assert (run_dir / 'failed.txt').is_file()
    assert (run_dir / 'last_checkpoint').read_text() == str(run_dir / 'epoch_1.pth')

    assert experiment.main(args) == 0
    stdout = capsys.readouterr().out
    assert f'a seed 0: continues from {run_dir / "epoch_1.pth"}' in stdout
    assert not (run_dir / 'failed.txt').exists()
    result = json.loads((run_dir / 'result.json').read_text())
    assert result['segments'] == 2 and result['iters'] == 2
    assert result['metrics']['coco/AP'] == 0.25
    log = (run_dir / 'train.log').read_text()  # both attempts, in order
    assert log.index('stub: stopped after epoch 1') < log.index(
        f'stub: resumed from {run_dir / "epoch_1.pth"}')
    job = slurm.read_ledger(str(out))[-1]['job']
    task_log = (out / 'slurm' / 'logs' / f'{job}_0.out').read_text()
    assert f'from {run_dir / "epoch_1.pth"}' in task_log



def test_each_arm_waits_for_its_own_stage_1_on_slurm(slurm_cluster, tmp_path, monkeypatch):
    """With a stage 1 per arm, the runner submits the two stage-1 runs as one
    array and each arm as an array waiting (afterok) on its own stage-1
    task only; every run ends with its result and each stage 1's weights."""
    from hrgan_plugin.experiments import slurm
    monkeypatch.setenv('SLURM_CONF', slurm_cluster.conf)
    experiment, args, out = _stub_runner(
        tmp_path, monkeypatch, pretrain=dict(per_arm=True, cfg_options=dict(stub_value=0.1)),
        arms=dict(a=dict(config=QUICKSTART_COCO, cfg_options=dict(stub_value=0.25)),
                  b=dict(config=QUICKSTART_COCO, cfg_options=dict(stub_value=0.5))),
        baseline='a', seeds=[0], metrics={'coco/AP': 'higher'}, primary='coco/AP')
    with monkeypatch.context() as m:  # submit only
        m.setattr(slurm, 'wait', lambda spec, tasks, options: [])
        assert experiment.main(args) == 1  # no result to report yet
    stage1, *arms = slurm.read_ledger(str(out))
    assert [r['dir'] for r in stage1['runs']] == [
        str(out / 'runs' / f'_pretrain-{n}' / 'seed0') for n in 'ab']
    assert [[r['dir'] for r in e['runs']] for e in arms] == [
        [str(out / 'runs' / n / 'seed0')] for n in 'ab']
    for i, entry in enumerate(arms):
        assert scontrol_job(slurm_cluster, f'{entry["job"]}_0')['Dependency'] in (
            f'afterok:{stage1["job"]}_{i}(unfulfilled)', '(null)')  # (null): already met
    assert experiment.main(args) == 0  # picks the jobs up and waits for them
    for name, value in (('_pretrain-a', 0.25), ('_pretrain-b', 0.5), ('a', 0.25), ('b', 0.5)):
        result = json.loads((out / 'results' / name / 'seed0.json').read_text())
        assert result['metrics']['coco/AP'] == value, name
    assert all((out / 'results' / f'_pretrain-{n}' / 'seed0.pth').is_file() for n in 'ab')

def _tiny_spec(tmp_path, root: str) -> str:
    """tests/test_experiment.py's two-arm, two-seed spec (HRNet vs HRGAN)."""
    return write_spec(
        tmp_path / 'tiny.py', 'Tiny synthetic check.',
        arms=dict(hrnet=dict(config=QUICKSTART_COCO), hrgan=dict(config=QUICKSTART_HRGAN)),
        baseline='hrnet', seeds=[0, 1],
        metrics={'coco/AP': 'higher', 'occlusion/PCK_occluded': 'higher'}, primary='coco/AP',
        mechanism_samples=2,
        schedule={'train_cfg.max_epochs': 1, 'train_cfg.val_interval': 1,
                  'train_dataloader.batch_size': 8},
        cfg_options=tiny_spec_options(root))


@pytest.mark.slow
def test_experiment_on_slurm_matches_the_local_runner(slurm_cluster, synthetic_root, tmp_path):
    """The tiny HRNet vs HRGAN spec, 2 seeds, trained by the local runner
    (side by side, 1 thread each) and as a SLURM array (2 at a time, 1
    thread each): the same metrics in runs.csv, and the same curves."""
    spec = _tiny_spec(tmp_path, synthetic_root)
    env = dict(OMP_NUM_THREADS='1', SLURM_CONF=slurm_cluster.conf)
    times = {}
    # the local runner gives each of --jobs runs cpu_count / jobs threads: 1 here
    local = ['--jobs', str(os.cpu_count())]
    for name, extra in (('local', local), ('slurm', ['--launcher', 'slurm', '--jobs', '2',
                                                     '--poll', '1'])):
        start = time.monotonic()
        proc = run_tool('tools/experiment.py', spec, '--out', str(tmp_path / name),
                        '--device', 'cpu', *extra, env=env)
        times[name] = time.monotonic() - start
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'SLURM: 4/4 done' in proc.stdout
    tables = []
    for name in ('local', 'slurm'):
        with open(tmp_path / name / 'runs.csv') as f:
            tables.append({(r['arm'], r['seed']): {k: v for k, v in r.items() if k != 'wall_s'}
                           for r in csv.DictReader(f)})
    assert len(tables[0]) == 4 and tables[0] == tables[1]
    assert any(float(r['mech/d_plausibility_ratio'] or 0) > 0 for r in tables[1].values())
    curves = [(tmp_path / n / 'curves.csv').read_text() for n in ('local', 'slurm')]
    assert curves[0] == curves[1]
    print(f'times (s): {times}')
