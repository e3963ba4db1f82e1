"""The local runner's schedule: seed by seed, each arm as soon as its own
stage 1 has left its weights, never more than ``jobs`` runs at once, and no
arm of a stage 1 that failed."""
import threading
import time

import torch

from hrgan_plugin.experiments import local
from hrgan_plugin.experiments.results import RunFailed
from hrgan_plugin.experiments.runs import Run
from hrgan_plugin.experiments.spec import Arm, ExperimentSpec

ARMS = ('a', 'b')


def _spec() -> ExperimentSpec:
    return ExperimentSpec(path='t.py', name='t', description='',
                          arms=[Arm(n, 'x.py') for n in ARMS], baseline='a', seeds=[0, 1],
                          metrics={'PCK': 'higher'}, schedule={}, cfg_options={}, curves=[],
                          data=None)


def _plan(tmp_path, seeds):
    """Per-arm stage 1 for ``seeds``: the pretrain runs and the arm runs."""
    pretrains, runs = {}, []
    for name in ARMS:
        for seed in seeds:
            archive = str(tmp_path / 'results' / f'_pretrain-{name}' / f'seed{seed}.json')
            pretrains[name, seed] = Run(Arm(f'_pretrain-{name}', 'x.py'), seed,
                                        str(tmp_path / name / str(seed)), cfg=None,
                                        key=f'p{name}{seed}', archive=archive)
    for name in ARMS:
        for seed in seeds:
            runs.append(Run(Arm(name, 'x.py'), seed, str(tmp_path / 'arm' / name / str(seed)),
                            cfg=None, key=f'{name}{seed}', pretrain=pretrains[name, seed]))
    return list(pretrains.values()), runs


def test_runs_go_seed_by_seed_and_wait_only_for_their_own_stage_1(tmp_path, monkeypatch):
    spec = _spec()
    pretrains, runs = _plan(tmp_path, [0, 1])
    assert [r.label for r in local.run_order(pretrains, runs)] == [
        '_pretrain-a seed 0', '_pretrain-b seed 0', 'a seed 0', 'b seed 0',
        '_pretrain-a seed 1', '_pretrain-b seed 1', 'a seed 1', 'b seed 1']

    lock = threading.Lock()
    started, finished, busy = [], [], []
    durations = {'_pretrain-a seed 0': 0.05, '_pretrain-b seed 0': 0.3}

    def fake_execute(run, env, curve_keys, mechanism_samples, tools_dir):
        with lock:
            started.append(run.label)
            busy.append(len(started) - len(finished))
            assert env['OMP_NUM_THREADS'] == str(max(1, (local.os.cpu_count() or 1) // 2))
            if run.pretrain is not None:  # its stage 1 has finished and left its weights
                assert run.pretrain.label in finished and run.pretrain.has_weights()
        time.sleep(durations.get(run.label, 0.02))
        if run.label == '_pretrain-b seed 1':
            with lock:
                finished.append(run.label)
            raise RunFailed(f'{run.label}: diverged')
        if run.pretrain is None:
            local.os.makedirs(local.os.path.dirname(run.weights), exist_ok=True)
            torch.save(dict(state_dict={}, meta=dict(key=run.key)), run.weights)
        with lock:
            finished.append(run.label)
        return dict(metrics={'PCK': 50.0}, wall_s=1.0, iters=10)

    monkeypatch.setattr(local, 'execute', fake_execute)
    failures = local.train_local(spec, pretrains, runs, jobs=2, device='cpu', tools_dir='')
    assert failures == ['_pretrain-b seed 1: diverged']
    # `a seed 0` starts when its stage 1 ends, while b's (slower) still runs;
    # the next slot goes to seed 1's stage 1 rather than waiting for `b seed 0`'s
    assert started[:4] == ['_pretrain-a seed 0', '_pretrain-b seed 0', 'a seed 0',
                           '_pretrain-a seed 1']
    assert started.index('b seed 0') > finished.index('_pretrain-b seed 0')
    assert 'b seed 1' not in started  # its stage 1 failed
    assert sorted(started) == sorted(r.label for r in [*pretrains, *runs]
                                     if r.label != 'b seed 1')
    assert max(busy) == 2


def test_a_shared_stage_1_runs_alone_on_every_core(tmp_path, monkeypatch):
    """Every arm waits for a shared stage 1, so it takes the whole machine
    (the thread count the caller set, as with ``--jobs 1``); the arms after
    it share the cores."""
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    spec = _spec()
    stage1 = Run(Arm('_pretrain', 'x.py'), 0, str(tmp_path / 'p'), cfg=None, key='p',
                 archive=str(tmp_path / 'results' / '_pretrain' / 'seed0.json'))
    runs = [Run(Arm(n, 'x.py'), s, str(tmp_path / n / str(s)), cfg=None, key=f'{n}{s}',
                pretrain=stage1) for n in ARMS for s in (0, 1)]
    threads = {}

    def fake_execute(run, env, curve_keys, mechanism_samples, tools_dir):
        threads[run.label] = env.get('OMP_NUM_THREADS')
        if run is stage1:
            local.os.makedirs(local.os.path.dirname(run.weights), exist_ok=True)
            torch.save(dict(state_dict={}, meta=dict(key=run.key)), run.weights)
        return dict(metrics={'PCK': 50.0}, wall_s=1.0, iters=10)

    monkeypatch.setattr(local, 'execute', fake_execute)
    assert local.train_local(spec, [stage1], runs, jobs=2, device='cpu', tools_dir='') == []
    shared = str(max(1, (local.os.cpu_count() or 1) // 2))
    assert threads == {'_pretrain seed 0': None, 'a seed 0': shared, 'a seed 1': shared,
                       'b seed 0': shared, 'b seed 1': shared}
