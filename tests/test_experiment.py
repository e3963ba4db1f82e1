"""tools/experiment.py: the paired runner on a tiny two-arm, two-seed spec
(with resume), pretrain runs and their archived weights, and published
reports."""
import csv
import json
import os
import os.path as osp
import textwrap

import pytest
import torch
from utils import (
    QUICKSTART_COCO,
    QUICKSTART_HRGAN,
    REPO,
    run_tool,
    tiny_spec_options,
    write_spec,
)

from hrgan_plugin.experiments.spec import Arm, SpecError, load_spec


def test_runner_two_arms_two_seeds_and_resume(synthetic_root, tmp_path):
    """HRNet vs HRGAN, 2 seeds, 2 iterations each through tools/train.py;
    then a rerun trains nothing, and a run whose result is gone (left
    half-written) is trained again, from scratch, alone."""
    spec = write_spec(
        tmp_path / 'tiny.py', 'Tiny synthetic check, under a minute.',
        arms=dict(hrnet=dict(config=QUICKSTART_COCO), hrgan=dict(config=QUICKSTART_HRGAN)),
        baseline='hrnet', seeds=[0, 1],
        metrics={'coco/AP': 'higher', 'occlusion/PCK_occluded': 'higher',
                 'occlusion/implausible_rate': 'lower'},
        primary='coco/AP', val_points=2, mechanism_samples=2,
        schedule={'train_cfg.max_epochs': 1, 'train_cfg.val_interval': 1,
                  'train_dataloader.batch_size': 8},
        cfg_options=tiny_spec_options(synthetic_root), curves=['loss_kpt', 'k_t'])
    out = tmp_path / 'out'
    proc = run_tool('tools/experiment.py', spec, '--out', str(out), '--jobs', '2')
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert '4 runs; 0 finished, 4 to run' in proc.stdout
    assert '[4/4]' in proc.stdout and 'ETA' in proc.stdout
    for name in ('runs.csv', 'curves.csv', 'report.md', 'metrics.png', 'paired_difference.png',
                 'learning_curves.png', 'curves.png', 'baseline_curve.png'):
        assert (out / name).stat().st_size > 0, name
    with open(out / 'runs.csv') as f:
        rows = list(csv.DictReader(f))
    assert sorted((r['arm'], r['seed']) for r in rows) == [
        ('hrgan', '0'), ('hrgan', '1'), ('hrnet', '0'), ('hrnet', '1')]
    assert list(rows[0])[:5] == ['arm', 'seed', 'coco/AP', 'occlusion/PCK_occluded',
                                 'occlusion/implausible_rate']
    assert all(r['iters'] == '2' and 0 <= float(r['coco/AP']) <= 1 for r in rows)
    result = json.loads((out / 'runs' / 'hrgan' / 'seed1' / 'result.json').read_text())
    assert 'k_t' in result['curves'] and len(result['curves']['loss_kpt']) == 2
    report = (out / 'report.md').read_text()
    assert report.splitlines()[2].startswith('**NOT CONVERGED') or 'curves' in report
    # two iterations: AP is 0 in every run, which the report says instead of testing it
    assert '## Primary metric: coco/AP' in report
    assert 'coco/AP is saturated at 0 in every run: nothing to compare.' in report
    # validation logged at its training iteration (2), every metric at every point
    with open(out / 'curves.csv') as f:
        points = list(csv.DictReader(f))
    assert {(p['arm'], p['seed'], p['iteration']) for p in points} == {
        (a, s, '2') for a in ('hrnet', 'hrgan') for s in ('0', '1')}
    assert {'coco/AP', 'occlusion/PCK_occluded'} <= {p['metric'] for p in points}
    # the mechanism checks of HRGAN's runs (HRNet has none) land in runs.csv
    ratios = {r['arm']: r['mech/d_plausibility_ratio'] for r in rows}
    assert ratios['hrnet'] == '' and float(ratios['hrgan']) > 0
    assert '## Mechanism checks' in report and '| mech/d_plausibility_ratio | hrgan | 2 |' in report
    assert '## Training scalars' in report and '| k_t | hrgan | 2 |' in report

    first = {r['arm'] + r['seed']: r for r in rows}
    proc = run_tool('tools/experiment.py', spec, '--out', str(out))
    assert proc.returncode == 0 and '4 finished, 0 to run' in proc.stdout

    # the results archive outlives the run folders: a fresh output folder
    # resumed from it trains nothing and reports the same runs
    assert json.loads((out / 'results' / 'hrgan' / 'seed1.json').read_text()) == result
    fresh = tmp_path / 'fresh'
    proc = run_tool('tools/experiment.py', spec, '--out', str(fresh), '--resume-from',
                    str(out))
    assert proc.returncode == 0 and '4 finished, 0 to run' in proc.stdout, proc.stderr[-2000:]
    assert not (fresh / 'runs').exists()
    assert (fresh / 'runs.csv').read_text() == (out / 'runs.csv').read_text()
    assert (fresh / 'curves.csv').read_text() == (out / 'curves.csv').read_text()
    proc = run_tool('tools/experiment.py', spec, '--out', str(fresh), '--resume-from',
                    str(tmp_path))
    assert proc.returncode == 2 and f'--resume-from {tmp_path}: no results/' in proc.stderr

    run_dir = out / 'runs' / 'hrnet' / 'seed1'
    before = json.loads((run_dir / 'result.json').read_text())
    os.remove(run_dir / 'result.json')
    os.remove(out / 'results' / 'hrnet' / 'seed1.json')  # killed before either was written
    (run_dir / 'epoch_1.pth').write_bytes(b'truncated')  # a run killed mid-save
    # alone, the run gets this process's threads: as many as it had beside another
    threads = dict(OMP_NUM_THREADS=str(before['threads']))
    proc = run_tool('tools/experiment.py', spec, '--out', str(out), '--jobs', '2', env=threads)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert '3 finished, 1 to run' in proc.stdout and 'hrnet seed 1' in proc.stdout
    after = json.loads((run_dir / 'result.json').read_text())
    # CPU runs at one thread count are deterministic: the same losses and metrics
    assert after['curves']['loss_kpt'] == before['curves']['loss_kpt']
    assert after['metrics'] == before['metrics']
    with open(out / 'runs.csv') as f:
        again = {r['arm'] + r['seed']: r for r in csv.DictReader(f)}
    assert again == {k: {**r, 'wall_s': again[k]['wall_s']} for k, r in first.items()}

    # a subset of arms (the baseline always kept); an unknown arm is refused
    proc = run_tool('tools/experiment.py', spec, '--out', str(out), '--arms', 'hrnet',
                    '--report-only')
    assert proc.returncode == 0 and '1 arms x 2 seeds = 2 runs; 2 finished' in proc.stdout
    proc = run_tool('tools/experiment.py', spec, '--out', str(out), '--arms', 'gan')
    assert proc.returncode == 2 and "--arms ['gan'] not in" in proc.stderr


def test_changed_config_keeps_the_earlier_run(tmp_path, monkeypatch):
    """A finished run whose config changed is moved aside, not deleted; a
    half-written run is removed."""
    monkeypatch.syspath_prepend(osp.join(REPO, 'tools'))
    import experiment
    old = tmp_path / 'seed0'
    old.mkdir()
    (old / 'result.json').write_text(json.dumps(dict(key='abc123')))
    run = experiment.Run(Arm('a', 'x.py'), 0, str(old), cfg=None, key='def456')
    assert not run.finished()
    experiment.clear(run)
    assert not old.exists()
    assert json.loads((tmp_path / 'seed0.abc123' / 'result.json').read_text())['key'] == 'abc123'
    old.mkdir()
    (old / 'epoch_1.pth').write_bytes(b'half')
    experiment.clear(run)
    assert not old.exists() and sorted(os.listdir(tmp_path)) == ['seed0.abc123']


def test_pretrain_run_is_shared_by_every_arm_of_its_seed(tmp_path, monkeypatch):
    """A spec's `pretrain` is one run per seed (or one shared run with
    `pretrain_seed`); every arm of that seed loads its archived final
    weights, and a changed pretrain changes the arms' keys."""
    monkeypatch.syspath_prepend(osp.join(REPO, 'tools'))
    import experiment
    spec = tmp_path / 'staged.py'
    text = textwrap.dedent(f"""
        pretrain = dict(config={QUICKSTART_COCO!r},
                        cfg_options={{'train_cfg.max_epochs': 3}})
        arms = dict(a=dict(config={QUICKSTART_COCO!r}), b=dict(config={QUICKSTART_HRGAN!r}))
        baseline = 'a'
        seeds = [0, 1]
        metrics = {{'coco/AP': 'higher'}}
        primary = 'coco/AP'
        schedule = {{'train_cfg.max_epochs': 1}}
        """)
    spec.write_text(text)
    loaded = load_spec(str(spec), REPO)
    assert loaded.pretrain.name == '_pretrain'
    pretrains, runs = experiment.plan(loaded, str(tmp_path / 'out'), {})
    assert [(p.seed, p.cfg.train_cfg.max_epochs, p.cfg.randomness.seed) for p in pretrains] == [
        (0, 3, 0), (1, 3, 1)]
    for run in runs:
        assert run.cfg.train_cfg.max_epochs == 1
        assert run.cfg.load_from == osp.join(str(tmp_path / 'out'), 'results', '_pretrain',
                                             f'seed{run.seed}.pth')
    # a run's identity does not depend on the output folder (so --resume-from
    # matches the runs of a published report)
    _, elsewhere = experiment.plan(loaded, str(tmp_path / 'other'), {})
    assert [r.key for r in elsewhere] == [r.key for r in runs]
    # a pretrain result without its archived weights (or with another
    # config's) is retrained before its arms
    first = pretrains[0]
    os.makedirs(osp.dirname(first.archive))
    with open(first.archive, 'w') as f:
        json.dump(dict(key=first.key), f)
    assert first.finished() and not first.has_weights()
    torch.save(dict(state_dict={}, meta=dict(key='another')), first.weights)
    assert not first.has_weights()
    torch.save(dict(state_dict={}, meta=dict(key=first.key)), first.weights)
    assert first.has_weights() and not pretrains[1].has_weights()
    # pretrain_seed: one pretrain run, loaded by the arms of every seed
    spec.write_text(text + 'pretrain_seed = 7\n')
    shared = load_spec(str(spec), REPO)
    assert shared.pretrain_seeds == [7] and shared.stage1_seed(1) == 7
    one, runs7 = experiment.plan(shared, str(tmp_path / 'out'), {})
    assert [(p.seed, p.cfg.randomness.seed) for p in one] == [(7, 7)]
    assert {r.cfg.load_from for r in runs7} == {one[0].weights}
    assert [r.cfg.randomness.seed for r in runs7] == [0, 0, 1, 1]
    spec.write_text(text.replace('pretrain = dict(', 'pretrain_ = dict(') + 'pretrain_seed = 0\n')
    with pytest.raises(SpecError, match='pretrain_seed must be an integer and needs a pretrain'):
        load_spec(str(spec), REPO)
    spec.write_text(text.replace("'train_cfg.max_epochs': 3", "'train_cfg.max_epochs': 4"))
    _, changed = experiment.plan(load_spec(str(spec), REPO), str(tmp_path / 'out'), {})
    assert all(a.key != b.key for a, b in zip(runs, changed))
    spec.write_text(text.replace('pretrain = dict(config=', 'pretrain = dict(cfg='))
    with pytest.raises(SpecError, match="pretrain needs a 'config' path"):
        load_spec(str(spec), REPO)


def test_pretrain_weights_are_archived_without_optimizer_state(tmp_path):
    """A finished pretrain's last checkpoint is kept as its model weights
    only, tagged with the run's key, beside its archived result."""
    from mmengine.config import Config

    from hrgan_plugin.experiments.results import RunFailed
    from hrgan_plugin.experiments.runs import Run, archive_weights
    run_dir = tmp_path / 'runs' / '_pretrain' / 'seed3'
    run_dir.mkdir(parents=True)
    weight = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    torch.save(dict(state_dict={'backbone.w': weight}, meta=dict(iter=18720, epoch=120),
                    optimizer={'state': {0: {'exp_avg': torch.ones(2, 3)}}}),
               run_dir / 'epoch_120.pth')
    run = Run(Arm('_pretrain', QUICKSTART_COCO), 3, str(run_dir), Config(), 'k3',
              archive=str(tmp_path / 'results' / '_pretrain' / 'seed3.json'))
    assert run.weights == str(tmp_path / 'results' / '_pretrain' / 'seed3.pth')
    assert not run.has_weights()
    with pytest.raises(RunFailed, match=r'_pretrain seed 3: no checkpoint in .*seed3'):
        archive_weights(run)
    (run_dir / 'last_checkpoint').write_text(str(run_dir / 'epoch_120.pth'))
    archive_weights(run)
    kept = torch.load(run.weights, weights_only=True)
    assert set(kept) == {'state_dict', 'meta'} and kept['meta'] == dict(key='k3', iter=18720)
    assert torch.equal(kept['state_dict']['backbone.w'], weight)
    assert run.has_weights() and not os.path.exists(run.weights + '.tmp')


def test_learned_distributions_average_over_seeds(tmp_path):
    """Per arm, the seeds' first line, last pre-training line and last line,
    averaged, for the distributions the arm's split learns, in units."""
    def line(phase, scale, occlusion=(0.25, ) * 4):
        return json.dumps(dict(iter=1, phase=phase, scale=scale, rotation=[0.5, 0.5],
                               occlusion=list(occlusion)))

    hook = ("custom_hooks = [dict(type='AdversarialAugmentationHook', split={split}, "
            "occlusion_grid=(2, 2), scale_bins=dict(num=2, range=(-0.5, 0.5)), "
            "rotation_bins=dict(num=2, range=(-30.0, 30.0)))]\n")
    for arm, split in (('asr', (1, 1, 0)), ('aho', (1, 0, 1))):
        for seed, (pre, end) in enumerate((([0.2, 0.8], [0.6, 0.4]), ([0.4, 0.6], [0.2, 0.8]))):
            run = tmp_path / 'exp' / 'runs' / arm / f'seed{seed}'
            run.mkdir(parents=True)
            (run / 'config.py').write_text(hook.format(split=split))
            (run / 'adversarial_augmentation.jsonl').write_text('\n'.join(
                [line('pretrain', [0.5, 0.5]), line('pretrain', pre),
                 line('joint', end, (0.1, 0.2, 0.3, 0.4))]) + '\n')
    (tmp_path / 'exp' / 'runs' / 'random' / 'seed0').mkdir(parents=True)  # no hook: left out
    proc = run_tool('tools/learned_distributions.py', str(tmp_path / 'exp'))
    assert proc.returncode == 0, proc.stderr[-2000:]
    table = (tmp_path / 'exp' / 'learned_distributions.md').read_text()
    # bin centres in units: 2^-0.5, 2^0.5 and -30, 30 degrees
    assert 'content scale factor 0.71 1.41' in table and 'rotation -30 30 degrees' in table
    assert '| asr | 2 | start of agent pre-training | 0.500 0.500 |' in table
    assert '| asr | 2 | after agent pre-training | 0.300 0.700 |' in table
    assert '| asr | 2 | end | 0.400 0.600 |' in table and 'random' not in table
    occlusion = table.split('## occlusion')[1]
    assert '| aho | 2 | end | 0.100 0.200 0.300 0.400 |' in occlusion
    assert '| asr |' not in occlusion  # ASR only: no occlusion distribution
    assert '| aho |' not in table.split('## occlusion')[0]  # AHO only: no scale/rotation
    assert (tmp_path / 'exp' / 'learned_distributions.png').read_bytes()[:4] == b'\x89PNG'
    # a published table redrawn without its runs, the splits and bins from the spec
    uniform = {'scale': 7, 'rotation': 9, 'occlusion': 16}
    rows = [f'## {name}\n\n| arm | seeds | when | probabilities |\n|---|---|---|---|\n' + ''.join(
        f'| {arm} | 5 | {when} | {" ".join(["%.3f" % (1 / k)] * k)} |\n'
        for arm in ('asr', 'aho') for when in ('after pre-training', 'end'))
        for name, k in uniform.items()]
    (tmp_path / 'published.md').write_text('\n'.join(rows))
    redrawn = tmp_path / 'redrawn'
    proc = run_tool('tools/learned_distributions.py', str(redrawn), '--table',
                    str(tmp_path / 'published.md'), '--spec',
                    osp.join(REPO, 'configs', 'experiments', 'adv_aug_vs_random.py'))
    assert proc.returncode == 0, proc.stderr[-2000:]
    again = (redrawn / 'learned_distributions.md').read_text()
    assert '| asr | 5 | after agent pre-training | 0.143 0.143' in again
    assert '| aho |' not in again.split('## occlusion')[0]
    assert '| asr |' not in again.split('## occlusion')[1]
    (tmp_path / 'short.md').write_text('## scale\n\n| asr | 5 | end | 0.5 0.5 |\n')
    proc = run_tool('tools/learned_distributions.py', str(redrawn), '--table',
                    str(tmp_path / 'short.md'), '--spec',
                    osp.join(REPO, 'configs', 'experiments', 'adv_aug_vs_random.py'))
    assert proc.returncode == 2 and "asr's scale has 2 probabilities for 7 bins" in proc.stderr


def test_published_report_regenerates_from_its_runs_csv(tmp_path):
    """`--report-only` on a folder holding only a runs.csv and a report (no
    run folders, no results archive) rewrites the report with the same
    numbers, labelled as having no learning curves, and keeps the machine
    the runs were measured on."""
    ap = {'hrnet': [0.30, 0.32, 0.31, 0.33, 0.29], 'small-d_lg2e-4': [0.31, 0.32, 0.30, 0.35, 0.30]}
    with open(tmp_path / 'runs.csv', 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['arm', 'seed', 'coco/AP', 'wall_s', 'iters'])
        writer.writerows([arm, seed, v, 600.0, 3120] for arm, values in ap.items()
                         for seed, v in enumerate(values))
    (tmp_path / 'report.md').write_text('# old\n\n- machine: CPU, 2 cores; torch 2\n'
                                        '- written: 2026-12-01 10:00\n')
    proc = run_tool('tools/experiment.py', osp.join(REPO, 'configs', 'experiments',
                                                     'hrgan_vs_hrnet.py'),
                    '--out', str(tmp_path), '--report-only')
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = (tmp_path / 'report.md').read_text()
    assert text.splitlines()[2].startswith('**Convergence unknown: curves not recorded**')
    assert '| hrnet (baseline) | 5 | 0.3100 |' in text
    # small-d - hrnet: 0.01 0 -0.01 0.02 0.01, mean 0.006
    assert '| small-d_lg2e-4 | 5 | 0.3160 |' in text and '| 0.0060 |' in text
    assert '- machine: CPU, 2 cores; torch 2' in text and 'regenerated from runs.csv' in text
    assert '- written: 2026-12-01 10:00' in text
    assert (tmp_path / 'metrics.png').read_bytes()[:4] == b'\x89PNG'


def test_learned_distributions_read_the_logs_kept_with_the_results(tmp_path):
    """A finished run's augmentation log is kept beside its archived result
    (``results/ARM/seedS.adversarial_augmentation.jsonl``), so a published
    report without run folders still averages every seed; a run folder's
    log replaces the kept copy of its seed; the arms' splits come from the
    spec where no run folder holds a config."""
    from hrgan_plugin.experiments.results import keep_logs

    def log(p: float) -> str:  # one joint-training line: scale bin 0 at p, the rest even
        rest = [(1 - p) / 6] * 6
        return json.dumps(dict(iter=1, phase='joint', scale=[p, *rest], rotation=[1 / 9] * 9,
                               occlusion=[p, *[(1 - p) / 15] * 15])) + '\n'
    exp, archive = tmp_path / 'published', tmp_path / 'published' / 'results'
    for arm, seed, p in (('asr', 0, 0.9), ('asr', 1, 0.3), ('aho', 1, 0.5)):
        run_dir = tmp_path / 'runs' / arm / f'seed{seed}'
        run_dir.mkdir(parents=True)
        (run_dir / 'adversarial_augmentation.jsonl').write_text(log(p))
        keep_logs(str(run_dir), str(archive / arm / f'seed{seed}.json'))
    assert (archive / 'asr' / 'seed1.adversarial_augmentation.jsonl').read_text() == log(0.3)
    keep_logs(str(tmp_path), None)  # no archive: nothing to keep it beside
    folder = exp / 'runs' / 'asr' / 'seed0'
    folder.mkdir(parents=True)
    (folder / 'adversarial_augmentation.jsonl').write_text(log(0.1))  # replaces the kept 0.9
    spec = osp.join(REPO, 'configs', 'experiments', 'adv_aug_vs_random.py')
    proc = run_tool('tools/learned_distributions.py', str(exp))
    assert proc.returncode == 2 and 'aho, asr holds its config.py: give --spec' in proc.stderr
    proc = run_tool('tools/learned_distributions.py', str(exp), '--spec', spec)
    assert proc.returncode == 0, proc.stderr[-2000:]
    table = (exp / 'learned_distributions.md').read_text()
    assert '| asr | 2 | end | 0.200 0.133 0.133' in table  # (0.1 + 0.3) / 2
    assert '| aho | 1 | end | 0.500 0.033' in table.split('## occlusion')[1]
