"""The local runner's schedule: seed by seed, each arm as soon as its own
stage 1 has left its weights, never more than ``jobs`` runs at once, no arm
of a stage 1 that failed, and the thread count each run gets."""
import os
import os.path as osp
import platform
import subprocess
import threading
import time

import torch

from hrgan_plugin.experiments import local
from hrgan_plugin.experiments.results import RunFailed
from hrgan_plugin.experiments.runs import Run
from hrgan_plugin.experiments.spec import Arm, ExperimentSpec, is_pretrain

ARMS = ('a', 'b')
HALF = str(max(1, (os.cpu_count() or 1) // 2))  # OMP_NUM_THREADS of two runs side by side


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


class FakeTraining:
    """Stands in for :func:`local.execute`: records ``(event, label, env)``
    in one list, sleeps ``durations[label]`` (default 0.02 s), fails the
    runs in ``fail``, and leaves a stage 1's weights."""

    def __init__(self, durations=None, fail=()):
        self.lock = threading.Lock()
        self.events, self.durations, self.fail = [], durations or {}, set(fail)

    def __call__(self, run, env, curve_keys, mechanism_samples, tools_dir):
        with self.lock:
            self.events.append(('start', run.label, env))
        time.sleep(self.durations.get(run.label, 0.02))
        if run.label not in self.fail and is_pretrain(run.arm.name):
            os.makedirs(osp.dirname(run.weights), exist_ok=True)
            torch.save(dict(state_dict={}, meta=dict(key=run.key)), run.weights)
        with self.lock:
            self.events.append(('end', run.label, env))
        if run.label in self.fail:
            raise RunFailed(f'{run.label}: diverged')
        return dict(metrics={'PCK': 50.0}, wall_s=1.0, iters=10)

    def order(self, event):
        return [label for e, label, _ in self.events if e == event]

    def env(self, label):
        return next(env for e, lab, env in self.events if e == 'start' and lab == label)

    def max_busy(self):
        busy, most = 0, 0
        for e, _, _ in self.events:
            busy += 1 if e == 'start' else -1
            most = max(most, busy)
        return most


def test_runs_go_seed_by_seed_and_wait_only_for_their_own_stage_1(tmp_path, monkeypatch):
    pretrains, runs = _plan(tmp_path, [0, 1])
    assert [r.label for r in local.run_order(pretrains, runs)] == [
        '_pretrain-a seed 0', 'a seed 0', '_pretrain-b seed 0', 'b seed 0',
        '_pretrain-a seed 1', 'a seed 1', '_pretrain-b seed 1', 'b seed 1']
    fake = FakeTraining({'_pretrain-a seed 0': 0.05, '_pretrain-b seed 0': 0.5},
                        fail={'_pretrain-b seed 1'})
    monkeypatch.setattr(local, 'execute', fake)
    failures = local.train_local(_spec(), pretrains, runs, jobs=2, device='cpu', tools_dir='')
    assert failures == ['_pretrain-b seed 1: diverged',
                        'b seed 1: not started, their stage 1 (_pretrain-b seed 1) left no '
                        'weights']
    started = fake.order('start')
    assert set(started[:2]) == {'_pretrain-a seed 0', '_pretrain-b seed 0'}
    # `a seed 0` starts once its stage 1 ends, while b's (slower) still runs,
    # and the slot it frees goes to seed 1's stage 1, not waiting for b's
    assert started[2:4] == ['a seed 0', '_pretrain-a seed 1']
    labels = [(e, label) for e, label, _ in fake.events]
    for run in runs:
        if run.label in started:  # every arm starts after its own stage 1 ended
            assert labels.index(('start', run.label)) > labels.index(
                ('end', run.pretrain.label))
    assert sorted(started) == sorted(r.label for r in [*pretrains, *runs]
                                     if r.label != 'b seed 1')
    assert fake.max_busy() == 2
    # two chains (a stage 1, then its arm) at a time: half the cores each
    assert {fake.env(label)['OMP_NUM_THREADS'] for label in started} == {HALF}


def test_one_slot_finishes_each_arm_before_the_next_stage_1(tmp_path, monkeypatch):
    """With ``--jobs 1`` an arm's run follows its own stage 1, so a program
    stopped between runs leaves whole arms, not a seed's stage 1s without
    their arms; an arm that loads no stage 1 ends its seed."""
    pretrains, runs = _plan(tmp_path, [0, 1])
    loose = Run(Arm('c', 'x.py'), 0, str(tmp_path / 'c'), cfg=None, key='c0')
    fake = FakeTraining()
    monkeypatch.setattr(local, 'execute', fake)
    assert local.train_local(_spec(), pretrains, [loose, *runs], jobs=1, device='cpu',
                             tools_dir='') == []
    assert fake.order('start') == fake.order('end') == [
        '_pretrain-a seed 0', 'a seed 0', '_pretrain-b seed 0', 'b seed 0', 'c seed 0',
        '_pretrain-a seed 1', 'a seed 1', '_pretrain-b seed 1', 'b seed 1']


def test_a_shared_stage_1_runs_alone_on_every_core(tmp_path, monkeypatch):
    """Every arm waits for a shared stage 1, so it takes the whole machine
    (the thread count the caller set, as with ``--jobs 1``); the arms after
    it share the cores; with ``--jobs 1`` no run's thread count is set."""
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    stage1 = Run(Arm('_pretrain', 'x.py'), 0, str(tmp_path / 'p'), cfg=None, key='p',
                 archive=str(tmp_path / 'results' / '_pretrain' / 'seed0.json'))
    runs = [Run(Arm(n, 'x.py'), s, str(tmp_path / n / str(s)), cfg=None, key=f'{n}{s}',
                pretrain=stage1) for n in ARMS for s in (0, 1)]
    fake = FakeTraining()
    monkeypatch.setattr(local, 'execute', fake)
    assert local.train_local(_spec(), [stage1], runs, jobs=2, device='cpu', tools_dir='') == []
    assert [label for _, label, _ in fake.events[:2]] == ['_pretrain seed 0'] * 2  # alone
    assert {label: fake.env(label).get('OMP_NUM_THREADS') for label in fake.order('start')} == {
        '_pretrain seed 0': None, 'a seed 0': HALF, 'a seed 1': HALF, 'b seed 0': HALF,
        'b seed 1': HALF}

    fake = FakeTraining()
    monkeypatch.setattr(local, 'execute', fake)
    pretrains, per_arm = _plan(tmp_path / 'one', [0])
    assert local.train_local(_spec(), pretrains, per_arm, jobs=1, device='cpu',
                             tools_dir='') == []
    assert fake.max_busy() == 1
    assert all('OMP_NUM_THREADS' not in env for _, _, env in fake.events)


def test_runs_side_by_side_get_different_gpus(tmp_path, monkeypatch):
    """On CUDA each slot is a device: two runs at once never share one,
    and a freed slot's device goes to the next run."""
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 2)
    pretrains, runs = _plan(tmp_path, [0, 1])
    fake = FakeTraining({'_pretrain-b seed 0': 0.3})
    monkeypatch.setattr(local, 'execute', fake)
    assert local.train_local(_spec(), pretrains, runs, jobs=2, device='cuda',
                             tools_dir='') == []
    busy = {}
    for event, label, env in fake.events:
        if event == 'start':
            assert env['CUDA_VISIBLE_DEVICES'] not in busy.values()
            busy[label] = env['CUDA_VISIBLE_DEVICES']
        else:
            del busy[label]
    assert {env['CUDA_VISIBLE_DEVICES'] for _, _, env in fake.events} == {'0', '1'}


def test_a_continued_run_keeps_the_thread_count_it_began_with(tmp_path):
    run = Run(Arm('a', 'x.py'), 0, str(tmp_path), cfg=None, key='k')
    env = local.same_threads(run, {'OMP_NUM_THREADS': '1'}, resumed=False)
    assert env == {'OMP_NUM_THREADS': '1'}
    assert (tmp_path / 'threads').read_text() == '1'
    # continued by a program that would give it 2 threads: it keeps its 1
    assert local.same_threads(run, {'OMP_NUM_THREADS': '2'}, resumed=True) == {
        'OMP_NUM_THREADS': '1'}
    # started afresh: it records the count it gets now
    assert local.same_threads(run, {}, resumed=False) == {}
    assert (tmp_path / 'threads').read_text() == str(torch.get_num_threads())


def test_cpu_model_names_the_kind_of_cpu(tmp_path):
    """Model name, family and model of the first processor, and the widest
    vector instruction set it has; a machine without /proc/cpuinfo gets
    platform.processor()."""
    from hrgan_plugin.experiments.machine import cpu_model
    info = tmp_path / 'cpuinfo'
    info.write_text('processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 1\n'
                    'model name\t: AMD EPYC 7B13\nflags\t\t: fpu sse2 avx avx2 fma\n\n'
                    'processor\t: 1\nmodel name\t: other\nflags\t\t: avx512f\n')
    assert cpu_model(str(info)) == 'AMD EPYC 7B13 (family 25 model 1, AVX2)'
    info.write_text('model name\t: Xeon\ncpu family\t: 6\nmodel\t: 143\n'
                    'flags\t: avx avx2 avx512f\n')
    assert cpu_model(str(info)) == 'Xeon (family 6 model 143, AVX-512)'
    assert cpu_model(str(tmp_path / 'none')) == (platform.processor() or 'unknown')


def test_differences_name_the_cpu_and_packages_that_changed():
    from hrgan_plugin.experiments.machine import differences, package_versions
    versions = package_versions()
    assert torch.__version__.startswith(versions['torch'])  # 2.13.0 of 2.13.0+cu130
    assert versions['python'] == platform.python_version()
    committed = dict(cpu='A (family 25 model 1, AVX2)', packages={'torch': '2.13.0',
                                                                    'numpy': '2.3.5'})
    assert differences(committed, dict(committed)) == []
    assert differences(committed, dict(cpu='B (family 6 model 143, AVX-512)',
                                       packages={'torch': '2.13.0', 'numpy': '2.4.0'})) == [
        'CPU: A (family 25 model 1, AVX2) -> B (family 6 model 143, AVX-512)',
        'numpy: 2.3.5 -> 2.4.0']
    assert differences({}, dict(cpu='B', packages={'torch': '1'})) == []  # nothing recorded


def test_code_version_names_the_commit_and_local_changes(tmp_path):
    from hrgan_plugin.experiments.machine import code_changes, code_version
    assert code_version(str(tmp_path)) == 'unknown'  # not a git checkout
    repo = tmp_path / 'repo'
    (repo / 'tools').mkdir(parents=True)
    (repo / 'tools' / 'train.py').write_text('a = 1\n')
    (repo / 'notes.md').write_text('notes\n')
    git = ['git', '-C', str(repo), '-c', 'user.name=t', '-c', 'user.email=t@t']
    for args in (['init', '-q'], ['add', '.'], ['commit', '-q', '-m', 'one']):
        subprocess.run(git + args, check=True)
    head = subprocess.run(git + ['rev-parse', 'HEAD'], capture_output=True, text=True,
                          check=True).stdout.strip()
    assert code_version(str(repo)) == head
    (repo / 'notes.md').write_text('other notes\n')  # outside the code: still the commit
    assert code_version(str(repo)) == head
    (repo / 'tools' / 'train.py').write_text('a = 2\n')
    assert code_version(str(repo)) == head + '+changes'
    subprocess.run(git + ['commit', '-q', '-am', 'two'], check=True)
    second = code_version(str(repo))
    (repo / 'notes.md').write_text('more notes\n')
    subprocess.run(git + ['commit', '-q', '-am', 'three'], check=True)
    third = code_version(str(repo))  # a commit outside the code (a result, say)
    assert code_changes(dict(code=second), dict(code=third), str(repo)) == ''
    assert code_changes(dict(code=head), dict(code=third), str(repo)) == (
        f'code: {head} -> {third} (1 changed in hrgan_plugin, configs, tools)')
    assert code_changes(dict(code=head), dict(code=head + '+changes'), str(repo)) == (
        f'code: {head} -> {head}+changes (local changes)')
    assert code_changes({}, dict(code=third), str(repo)) == ''  # not recorded
    assert code_changes(dict(code='0' * 40), dict(code=third), str(repo)).endswith(
        f'(not comparable in {repo})')
