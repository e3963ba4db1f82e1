"""The evidence instrument's statistics, convergence verdict, report and
figures on hand-made runs.csv / curves.csv (hand-computed values)."""
import csv
import math

import pytest

from hrgan_plugin.experiments.analysis import analyse, collapsed_arms, convergence
from hrgan_plugin.experiments.baseline_curve import draw_baseline_curve, stage_summary
from hrgan_plugin.experiments.figures import FIGURES, layout_problems, plot_all
from hrgan_plugin.experiments.report import write_report
from hrgan_plugin.experiments.results import read_curves_csv, read_runs_csv
from hrgan_plugin.experiments.spec import Arm, ExperimentSpec
from hrgan_plugin.experiments.statistics import (
    bootstrap_interval,
    holm,
    minimum_detectable_effect,
    paired_t_pvalue,
)

DIFFS = [0.01, 0.01, -0.01, 0.02, 0.02]  # mean 0.01, sd 0.0122474


def test_paired_t_pvalue_by_hand():
    # t = 0.01 / (0.0122474 / sqrt 5) = 1.825742 on 4 df; the t(4) CDF in closed
    # form, F(t) = 1/2 + 3/8 u (1 - t^2 / (12 (1 + t^2/4))), u = t / sqrt(1 + t^2/4),
    # gives F = 0.929036, p = 2 (1 - F) = 0.141927
    assert paired_t_pvalue(DIFFS) == pytest.approx(0.141927, abs=1e-6)
    assert paired_t_pvalue([-d for d in DIFFS]) == pytest.approx(0.141927, abs=1e-6)
    assert paired_t_pvalue([0.02, 0.02]) == 0.0 and paired_t_pvalue([0.0, 0.0]) == 1.0
    assert math.isnan(paired_t_pvalue([0.1]))


def test_holm_step_down_by_hand():
    # sorted 0.01, 0.03, 0.04 over m = 3: 3 * 0.01 = 0.03; 2 * 0.03 = 0.06;
    # 1 * 0.04 = 0.04 -> raised to the running maximum 0.06
    adjusted = holm({'a': 0.01, 'b': 0.04, 'c': 0.03, 'd': math.nan})
    assert adjusted['a'] == pytest.approx(0.03)
    assert adjusted['c'] == pytest.approx(0.06) and adjusted['b'] == pytest.approx(0.06)
    assert math.isnan(adjusted['d'])
    assert holm({'a': 0.4, 'b': 0.5}) == pytest.approx({'a': 0.8, 'b': 0.8})
    assert holm({'a': 0.6, 'b': 0.7})['a'] == 1.0


def test_bootstrap_interval_is_exact_and_stays_in_range():
    # [0.9, 1, 1]: k draws of 0.9 ~ Binomial(3, 1/3): means 0.9 (1/27), 0.9333
    # (6/27), 0.9667 (12/27), 1.0 (8/27): the 2.5% point is 0.9 (1/27 = 0.037),
    # the 97.5% point 1.0. Student t would give 0.9667 +- 0.1434, past 1.
    assert bootstrap_interval([0.9, 1.0, 1.0]) == pytest.approx((0.9, 1.0))
    # [0.2, 0.4]: means 0.2 (1/4), 0.3 (1/2), 0.4 (1/4); a 50% interval: (0.2, 0.3)
    assert bootstrap_interval([0.2, 0.4], level=0.5) == pytest.approx((0.2, 0.3))
    # against brute force: all 5^5 ordered resamples, equally likely
    import itertools
    seeds = [0.50, 0.52, 0.54, 0.56, 0.58]
    means = sorted(sum(c) / 5 for c in itertools.product(seeds, repeat=5))
    brute = (means[math.ceil(0.025 * len(means)) - 1], means[math.ceil(0.975 * len(means)) - 1])
    assert bootstrap_interval(seeds) == pytest.approx(brute)
    assert brute == pytest.approx((0.516, 0.564))
    many = [0.97, 0.99, 1.0, 1.0, 0.98, 1.0, 0.99, 1.0, 1.0, 0.96, 1.0, 0.99]
    low, high = bootstrap_interval(many)  # 12 values: seeded resampling
    assert 0.96 <= low < sum(many) / len(many) < high <= 1.0
    assert bootstrap_interval(many) == (low, high)
    with pytest.raises(ValueError, match='two or more values'):
        bootstrap_interval([0.5])


def test_minimum_detectable_effect_by_hand():
    # (t_0.975,4 + t_0.8,4) sd / sqrt(5) = (2.776445 + 0.940965) / 2.236068 = 1.662477
    assert minimum_detectable_effect(1.0, 5) == pytest.approx(1.662477, abs=1e-5)
    assert minimum_detectable_effect(0.01, 5) == pytest.approx(0.01662477, abs=1e-7)
    assert math.isnan(minimum_detectable_effect(1.0, 1))


# ---------------------------------------------------------------- hand-made experiment
ARMS = ('base', 'gan', 'gan_strong_long_name', 'collapsed')
FINAL = {'base': [0.50, 0.52, 0.54, 0.56, 0.58], 'gan': [0.51, 0.53, 0.53, 0.58, 0.60],
         'gan_strong_long_name': [0.45, 0.47, 0.50, 0.49, 0.50],
         'collapsed': [0.01, 0.02, 0.0, 0.01, 0.03]}


def _spec(**kw) -> ExperimentSpec:
    return ExperimentSpec(
        path='spec.py', name='toy', description='A toy comparison.',
        arms=[Arm(a, f'{a}.py') for a in ARMS], baseline='base', seeds=[0, 1, 2, 3, 4],
        metrics={'AP': 'higher', 'PCK': 'higher', 'implausible_rate': 'lower',
                 'saturated_rate': 'lower'},
        schedule={}, cfg_options={}, curves=[], data=None, primary='AP', val_points=4,
        bounds={'PCK': (0.0, 100.0)}, **kw)


def _write_experiment(folder, curves: dict) -> list:
    """runs.csv and curves.csv of ARMS x 5 seeds; ``curves`` gives the
    baseline's AP at iterations 100..400 per seed offset."""
    runs = [['arm', 'seed', 'AP', 'PCK', 'implausible_rate', 'saturated_rate', 'wall_s',
             'iters']]
    points = [['arm', 'seed', 'iteration', 'metric', 'value']]
    for arm in ARMS:
        for seed, ap in enumerate(FINAL[arm]):
            runs.append([arm, seed, ap, 100 * ap + 20, 0.9 + 0.02 * seed, 1.0, 60.0, 400])
            for i, it in enumerate((100, 200, 300, 400)):
                value = curves[i] + 0.02 * seed if arm == 'base' else ap * (i + 1) / 4
                points.append([arm, seed, it, 'AP', value])
    for name, rows in (('runs.csv', runs), ('curves.csv', points)):
        with open(folder / name, 'w', newline='') as f:
            csv.writer(f).writerows(rows)
    results = read_runs_csv(str(folder / 'runs.csv'))
    read_curves_csv(str(folder / 'curves.csv'), results)
    return results


def test_convergence_verdict_by_hand(tmp_path):
    # still learning: seed means 0.34 at iteration 300 and 0.44 at 400: +0.1, +29.4%
    results = _write_experiment(tmp_path, (0.10, 0.20, 0.30, 0.40))
    c = convergence(_spec(), results)
    assert (c.start_iter, c.end_iter) == (300, 400)
    assert (c.start, c.end, c.gain) == pytest.approx((0.34, 0.44, 0.10))
    assert not c.converged and c.line('base', 'AP').startswith(
        '**NOT CONVERGED: still improving by +0.1 (+29.4%) over the last quarter**')
    # flat: 0.640 -> 0.645, +0.005 (+0.8%), below the final values' SD 0.0316
    c = convergence(_spec(), _write_experiment(tmp_path, (0.50, 0.60, 0.60, 0.605)))
    assert c.gain == pytest.approx(0.005) and c.sd == pytest.approx(0.0316228, abs=1e-6)
    assert c.converged and c.line('base', 'AP').startswith('**Converged**: the baseline '
                                                           'gained +0.005 (+0.8%)')
    no_curves = read_runs_csv(str(tmp_path / 'runs.csv'))
    assert convergence(_spec(), no_curves).line('base', 'AP').startswith(
        '**Convergence unknown: curves not recorded**')


def test_analysis_holm_bounds_saturation_and_collapse(tmp_path):
    results = _write_experiment(tmp_path, (0.1, 0.2, 0.3, 0.4))
    stats = analyse(_spec(), results)
    ap = stats['AP']
    assert ap.primary and ap.bound == (0.0, 1.0) and ap.interval == 'bootstrap'
    # gan - base = DIFFS: p 0.141927; Holm over the 3 arms: the largest p is
    # never lowered, the smallest is multiplied by 3
    assert ap.p['gan'] == pytest.approx(0.141927, abs=1e-6)
    ranked = sorted(ap.p.values())
    assert ap.p_holm[min(ap.p, key=ap.p.get)] == pytest.approx(min(1, 3 * ranked[0]))
    assert ap.p_holm['gan'] >= ap.p['gan']
    assert ap.mde['gan'] == pytest.approx(1.662477 * 0.0122474, abs=1e-6)
    assert stats['PCK'].bound == (0.0, 100.0) and not stats['PCK'].primary
    assert stats['PCK'].p_holm == {}  # exploratory: unadjusted
    assert stats['saturated_rate'].saturated == 1.0 and stats['AP'].saturated is None
    lo = stats['AP'].summaries['base']
    assert 0.50 <= lo.ci_low < lo.ci_high <= 0.58  # bootstrap: within the seeds' range
    assert collapsed_arms(_spec(), results) == {'collapsed': 'collapsed'}


def test_contrasts_join_the_holm_family(tmp_path):
    results = _write_experiment(tmp_path, (0.1, 0.2, 0.3, 0.4))
    spec = _spec(contrasts=[('gan', 'gan_strong_long_name')])
    ap = analyse(spec, results)['AP']
    # gan - gan_strong_long_name per seed: 0.06 0.06 0.03 0.09 0.10; mean 0.068,
    # SD 0.0277489, t(4) = 5.47960, p = 0.0054000
    d = ap.contrasts['gan', 'gan_strong_long_name']
    assert d.diff.mean == pytest.approx(0.068) and (d.wins, d.losses) == (5, 0)
    assert ap.p['gan', 'gan_strong_long_name'] == pytest.approx(0.0054000, abs=1e-6)
    # Holm over 4 comparisons, p ranked: collapsed 2.2e-6, gan_strong_long_name
    # 0.0013936, the contrast 0.0054000, gan 0.141927
    assert ap.p_holm['gan', 'gan_strong_long_name'] == pytest.approx(2 * 0.0054000, abs=1e-6)
    assert ap.p_holm['gan_strong_long_name'] == pytest.approx(3 * 0.0013936, abs=1e-6)
    assert analyse(_spec(), results)['AP'].p_holm['gan_strong_long_name'] == pytest.approx(
        2 * 0.0013936, abs=1e-6)  # without the contrast: 3 comparisons
    assert analyse(spec, results)['PCK'].contrasts == {}  # exploratory metrics: arms only
    text = open(write_report(str(tmp_path), spec, results, {'machine': 'test'}, [])).read()
    assert 'Holm-adjusted over the 4 comparison(s)' in text
    assert ('| gan - gan_strong_long_name | 5 | 0.0680 | [0.0335, 0.1025] | 5 / 0 / 0 | 0.0054 | '
            '0.0108 |') in text
    assert 'gan better than gan_strong_long_name (Holm p = 0.0108)' in text


def test_report_opens_with_the_verdict_and_adjusts_the_primary(tmp_path):
    results = _write_experiment(tmp_path, (0.1, 0.2, 0.3, 0.4))
    text = open(write_report(str(tmp_path), _spec(), results, {'machine': 'test'},
                             ['metrics.png'])).read()
    lines = text.splitlines()
    assert lines[0] == '# Experiment `toy` (synthetic data)'
    assert lines[2].startswith('**NOT CONVERGED: still improving by +0.1')
    assert '## Primary metric: AP (higher is better)' in text
    assert '| gan | 5 | 0.5500 |' in text and 'no difference resolved (Holm p = ' in text
    assert 'collapsed worse than base (Holm p = ' in text
    assert '## Exploratory metrics (unadjusted)' in text
    assert 'saturated_rate is saturated at 1 in every run: not compared, not plotted.' in text
    assert '`collapsed` collapsed (AP mean 0.014)' in text and '![metrics](metrics.png)' in text


def test_baseline_curve_follows_stage_one(tmp_path):
    """With a pretrain, the baseline's curve is drawn after stage 1's
    iterations; the report gives stage 1's end; without stage-1 curves a
    spec with a pretrain draws nothing."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    results = _write_experiment(tmp_path, (0.1, 0.2, 0.3, 0.4))
    spec = _spec(pretrain=Arm('_pretrain', 'base.py'))
    pretrain = [dict(arm='_pretrain', seed=s, iters=1000, metrics={'AP': 0.40 + 0.01 * s},
                     val_curves=[[500, {'AP': 0.2}], [1000, {'AP': 0.40 + 0.01 * s}]])
                for s in range(5)]
    fig = draw_baseline_curve(spec, results, pretrain)
    lines = fig.axes[0].get_lines()
    stage1 = [ln for ln in lines if list(ln.get_xdata()) == [500, 1000]]
    arm = [ln for ln in lines if list(ln.get_xdata()) == [1100, 1200, 1300, 1400]]
    assert len(stage1) == 5 and len(arm) == 5
    # seed 2's baseline: 0.10 0.20 0.30 0.40 plus 0.02 * seed
    assert list(arm[2].get_ydata()) == pytest.approx([0.14, 0.24, 0.34, 0.44])
    assert layout_problems(fig) == []
    plt.close(fig)
    assert stage_summary(spec, pretrain) == (
        '- stage 1 (`pretrain`, 1000 iterations) ended at AP 0.42 (mean of 5 seeds, range '
        '0.4 to 0.44); the arms start there')
    # one stage 1 shared by every seed (pretrain_seed): drawn once, every
    # seed's baseline counted on from its end
    shared = _spec(pretrain=Arm('_pretrain', 'base.py'), pretrain_seed=3)
    fig = draw_baseline_curve(shared, results, pretrain[3:4])
    lines = fig.axes[0].get_lines()
    assert len([ln for ln in lines if list(ln.get_xdata()) == [500, 1000]]) == 1
    assert len([ln for ln in lines if list(ln.get_xdata()) == [1100, 1200, 1300, 1400]]) == 5
    plt.close(fig)
    assert stage_summary(shared, pretrain[3:4]) == (
        '- stage 1 (`pretrain`, 1000 iterations) ended at AP 0.43 (seed 3, shared by every '
        'seed); the arms start there')
    # per-arm stage 1s, one seed finished: the baseline's own, not shared
    per_arm = _spec(pretrain_per_arm={'train_cfg.max_epochs': 32})
    assert stage_summary(per_arm, [dict(pretrain[1], arm='_pretrain-base')]) == (
        '- stage 1 (`_pretrain-base`, 1000 iterations) ended at AP 0.41 (seed 1, one seed so '
        'far); `base` starts there')
    assert stage_summary(spec, pretrain[4:]) == (
        '- stage 1 (`pretrain`, 1000 iterations) ended at AP 0.44 (seed 4, one seed so far); '
        'the arms start there')
    assert draw_baseline_curve(spec, results, []) is None
    fig = draw_baseline_curve(_spec(), results, [])  # no stage 1: the baseline alone
    assert [list(ln.get_xdata()) for ln in fig.axes[0].get_lines()][0] == [100, 200, 300, 400]
    plt.close(fig)
    text = open(write_report(str(tmp_path), spec, results, {}, [], None, pretrain)).read()
    assert '- stage 1 (`pretrain`, 1000 iterations) ended at AP 0.42' in text
    assert '## Stage 1 per arm' not in text  # one shared stage 1: the line above says it
    # per-arm stage 1s: the line is the baseline's own, and a table gives each arm's end
    own = [dict(p, arm=f'_pretrain-{arm}', metrics={'AP': p['metrics']['AP'] + d})
           for arm, d in (('base', 0.0), ('gan', 0.05)) for p in pretrain[:2]]
    text = open(write_report(str(tmp_path), per_arm, results, {}, [], None, own)).read()
    assert ('- stage 1 (`_pretrain-base`, 1000 iterations) ended at AP 0.405 (mean of 2 '
            'seeds, range 0.4 to 0.41); `base` starts there') in text
    table = text.split('## Stage 1 per arm')[1].split('##')[0]
    assert '| base | 2 | 0.4050 | 0.4 (seed 0), 0.41 (seed 1) |' in table
    assert '| gan | 2 | 0.4550 | 0.45 (seed 0), 0.46 (seed 1) |' in table
    assert 'collapsed' not in table  # no finished stage 1
    # the figure draws the baseline's own stage 1 only, not the other arms'
    fig = draw_baseline_curve(per_arm, results, own)
    assert len([ln for ln in fig.axes[0].get_lines()
                if list(ln.get_xdata()) == [500, 1000]]) == 2
    plt.close(fig)


def test_every_figure_is_readable(tmp_path):
    """Every figure drawn from the hand-made runs.csv and curves.csv has no
    overlapping tick labels and no text past its edges; the collapsed arm
    does not set the scale; the checker itself finds planted faults."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    results = _write_experiment(tmp_path, (0.1, 0.2, 0.3, 0.4))
    spec = _spec()
    for name, draw in FIGURES.items():
        fig = draw(spec, results)
        if name == 'curves.png':
            assert fig is None  # the spec logs no training scalars
            continue
        assert layout_problems(fig) == [], name
        if name == 'metrics.png':
            assert len(fig.axes) == 3  # saturated_rate is not plotted
            low, high = fig.axes[0].get_xlim()
            assert low > 0.3 and high < 0.7  # AP's scale ignores `collapsed` (0.014)
        plt.close(fig)
    assert plot_all(str(tmp_path), spec, results) == [
        'metrics.png', 'paired_difference.png', 'learning_curves.png', 'baseline_curve.png']
    assert (tmp_path / 'learning_curves.png').read_bytes()[:4] == b'\x89PNG'

    # every metric at its bound in every run: no per-metric figure, no error
    flat = [dict(r, metrics={'AP': 0.0, 'PCK': 0.0, 'implausible_rate': 1.0,
                             'saturated_rate': 1.0}) for r in results]
    assert FIGURES['metrics.png'](spec, flat) is None
    assert FIGURES['paired_difference.png'](spec, flat) is None

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.set_xticks(range(4), ['a long label'] * 4)
    ax.set_title('a title far too long for a two-inch figure to hold')
    problems = layout_problems(fig)
    plt.close(fig)
    assert any('overlap' in p for p in problems)
    assert any('extends past the figure' in p for p in problems)
