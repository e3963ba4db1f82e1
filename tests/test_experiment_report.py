"""Seed statistics on hand-made numbers and the report written from them."""
import csv

import pytest

from hrgan_plugin.experiments.analysis import analyse
from hrgan_plugin.experiments.report import verdict, write_report
from hrgan_plugin.experiments.results import read_runs_csv
from hrgan_plugin.experiments.spec import Arm, ExperimentSpec
from hrgan_plugin.experiments.statistics import paired_difference, summarise

BASE = [0.50, 0.52, 0.54, 0.56, 0.58]
ARM = [0.51, 0.53, 0.53, 0.58, 0.60]  # differences 0.01 0.01 -0.01 0.02 0.02


def test_summary_is_student_t_over_seeds():
    s = summarise(BASE)
    # sd = sqrt(0.004 / 4) = 0.0316228; t(0.975, 4) = 2.776445
    assert s.n == 5 and s.mean == pytest.approx(0.54)
    assert s.sd == pytest.approx(0.0316228, abs=1e-7)
    assert s.half_width == pytest.approx(2.776445 * 0.0316228 / 5 ** 0.5, abs=1e-6)
    assert (s.ci_low, s.ci_high) == pytest.approx((0.500736, 0.579264), abs=1e-6)
    one = summarise([0.5])
    assert one.n == 1 and one.sd is None and one.ci_low is None


def test_paired_difference_and_sign_count():
    base = dict(enumerate(BASE))
    arm = dict(enumerate(ARM))
    p = paired_difference(arm, base)
    # mean 0.01, sd sqrt(0.0006 / 4) = 0.0122474, half 2.776445 * sd / sqrt(5)
    assert p.diff.mean == pytest.approx(0.01)
    assert p.diff.sd == pytest.approx(0.0122474, abs=1e-7)
    assert (p.diff.ci_low, p.diff.ci_high) == pytest.approx((-0.0052073, 0.0252073), abs=1e-6)
    assert (p.wins, p.ties, p.losses) == (4, 0, 1)
    assert not p.diff.excludes_zero()
    lower = paired_difference(arm, base, higher_is_better=False)
    assert (lower.wins, lower.losses) == (1, 4)
    # only the common seeds are paired
    assert paired_difference({0: 1.0, 7: 2.0}, {0: 0.5, 1: 0.0}).per_seed == {0: 0.5}


def _spec(metrics=None, seeds=(0, 1, 2, 3, 4)) -> ExperimentSpec:
    return ExperimentSpec(
        path='spec.py', name='toy', description='A toy comparison.',
        arms=[Arm('base', 'a.py'), Arm('new', 'b.py')], baseline='base', seeds=list(seeds),
        metrics=metrics or {'AP': 'higher', 'implausible': 'lower'}, schedule={},
        cfg_options={}, curves=[], data=None, primary=next(iter(metrics or {'AP': 0})))


def test_report_from_hand_made_runs_csv(tmp_path):
    rows = [['arm', 'seed', 'AP', 'implausible', 'extra', 'wall_s', 'iters']]
    for seed, (b, a) in enumerate(zip(BASE, ARM)):
        rows.append(['base', seed, b, 0.30, 1, 10.0, 5])
        rows.append(['new', seed, a, 0.20 + 0.01 * seed, 1, 12.0, 5])
    path = tmp_path / 'runs.csv'
    with open(path, 'w', newline='') as f:
        csv.writer(f).writerows(rows)
    results = read_runs_csv(str(path))
    assert len(results) == 10 and results[1]['metrics']['AP'] == 0.51
    spec = _spec()
    stats = analyse(spec, results)
    assert stats['AP'].summaries['base'].mean == pytest.approx(0.54)
    imp = stats['implausible'].paired['new']
    # differences -0.10 .. -0.06: CI excludes 0, lower is better: 5 wins
    assert imp.diff.mean == pytest.approx(-0.08) and imp.diff.excludes_zero()
    assert imp.wins == 5
    assert verdict('new', 'base', 'lower', imp) == (
        'the 95% CI excludes 0: new is lower than base (better)')
    report = write_report(str(tmp_path), spec, results, {'machine': 'test'}, ['metrics.png'])
    text = open(report).read()
    assert 'synthetic' in text and '![metrics](metrics.png)' in text
    # AP (primary, a rate): the exact bootstrap interval of the mean of BASE (the
    # 2.5% and 97.5% points of the 5^5 equally likely resample means)
    assert '| base (baseline) | 5 | 0.5400 | [0.5160, 0.5640] |' in text
    # the paired t-test of the differences 0.01 0.01 -0.01 0.02 0.02: p = 0.142, and
    # with one arm Holm changes nothing
    assert ('| new | 5 | 0.5500 | [0.5220, 0.5820] | 0.0100 | [-0.0052, 0.0252] | 4 / 0 / 1 | '
            '0.142 | 0.142 | 0.0204 | no difference resolved (Holm p = 0.142) |') in text
    # differences -0.10 .. -0.06: sd 0.0158114, t = 11.31 on 4 df, p 0.000348;
    # MDE 1.662477 * 0.0158114 = 0.0263
    assert ('| implausible (lower is better) | new | 0.2200 | [0.2080, 0.2320] | -0.0800 | '
            '[-0.0996, -0.0604] | 0.000348 | 0.0263 |') in text
    assert 'the 95% CI excludes 0: new is lower than base (better) |' in text


def test_one_seed_report_says_no_ci(tmp_path):
    spec = _spec(metrics={'AP': 'higher'}, seeds=[0])
    results = [dict(arm='base', seed=0, metrics={'AP': 0.5}, wall_s=1.0, iters=1),
               dict(arm='new', seed=0, metrics={'AP': 0.6}, wall_s=1.0, iters=1)]
    text = open(write_report(str(tmp_path), spec, results, {}, [])).read()
    assert 'One seed only: no confidence interval can be given' in text
    assert 'fewer than two paired seeds: no test' in text
