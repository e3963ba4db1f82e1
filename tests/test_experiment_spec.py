"""Experiment specs: errors that name the key at fault, ``--arms``, and
every shipped spec's arms building their model and hooks."""
import os.path as osp

import pytest
from utils import QUICKSTART_COCO, REPO, run_tool

from hrgan_plugin.experiments.spec import SpecError, load_spec


def test_spec_errors_name_the_key(tmp_path):
    spec = tmp_path / 'bad.py'
    spec.write_text(f"arms = dict(a=dict(config={QUICKSTART_COCO!r}))\nbaseline = 'b'\n"
                    "seeds = [0]\nmetrics = {'coco/AP': 'higher'}\n")
    with pytest.raises(SpecError, match="bad.py: baseline 'b' is not one of the arms"):
        load_spec(str(spec))
    spec.write_text(f"arms = dict(a=dict(config={QUICKSTART_COCO!r}))\nbaseline = 'a'\n"
                    "seeds = [0]\nmetrics = {'coco/AP': 'up'}\n")
    with pytest.raises(SpecError, match='metrics must map names'):
        load_spec(str(spec))
    good = (f"arms = dict(a=dict(config={QUICKSTART_COCO!r}))\nbaseline = 'a'\n"
            "seeds = [0]\nmetrics = {'coco/AP': 'higher', 'PCK': 'higher'}\n")
    spec.write_text(good)
    with pytest.raises(SpecError, match="bad.py: missing key 'primary'"):
        load_spec(str(spec))
    spec.write_text(good + "primary = 'AR'\n")
    with pytest.raises(SpecError, match="primary 'AR' is not one of the metrics"):
        load_spec(str(spec))
    spec.write_text(good + "primary = 'PCK'\nval_points = 1\n")
    with pytest.raises(SpecError, match='val_points must be an integer >= 2, got 1'):
        load_spec(str(spec))
    spec.write_text(good + "primary = 'PCK'\nbounds = {'PCK': (100, 0)}\n")
    with pytest.raises(SpecError, match=r"bounds\['PCK'\] must be \(low, high\)"):
        load_spec(str(spec))
    spec.write_text(good + "primary = 'PCK'\ncontrasts = [('a', 'z')]\n")
    with pytest.raises(SpecError, match=r"contrasts must be a list of \(arm, reference\) "
                                        r"pairs of two different arms among \['a'\], got "
                                        r"\[\['a', 'z'\]\]"):
        load_spec(str(spec))
    spec.write_text(good + "primary = 'PCK'\nbounds = {'PCK': (0, 100)}\nval_points = 5\n")
    loaded = load_spec(str(spec))
    assert (loaded.primary, loaded.val_points, loaded.bounds) == ('PCK', 5, {'PCK': (0., 100.)})
    proc = run_tool('tools/experiment.py', str(tmp_path / 'missing.py'))
    assert proc.returncode == 2 and 'missing.py not found' in proc.stderr
    # a data root holding someone else's files is refused, and left alone
    mine = tmp_path / 'my_data'
    mine.mkdir()
    (mine / 'keep.json').write_text('{}')
    spec.write_text(f"arms = dict(a=dict(config={QUICKSTART_COCO!r}))\nbaseline = 'a'\n"
                    "seeds = [0]\nmetrics = {'coco/AP': 'higher'}\nprimary = 'coco/AP'\n"
                    f"data = dict(root={str(mine)!r}, preset='occlusion')\n")
    proc = run_tool('tools/experiment.py', str(spec), '--out', str(tmp_path / 'out'))
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert 'did not write' in proc.stderr.splitlines()[-1]
    assert (mine / 'keep.json').read_text() == '{}'


def test_select_arms_keeps_the_baseline_and_the_contrasts_between_kept_arms():
    """``--arms`` keeps the named arms and the baseline, and drops every
    contrast that names a dropped arm (a report of a subset has no column
    for it); an unknown name is refused by name."""
    spec = load_spec(osp.join(REPO, 'configs', 'experiments', 'hrgan_vs_hrnet.py'), REPO)
    names = [a.name for a in spec.arms]
    assert spec.contrasts, 'the shipped spec has contrasts'
    both = ['small-d_lg1e-2', 'conventional_lg1e-2']
    assert ('small-d_lg1e-2', 'conventional_lg1e-2') in spec.contrasts
    spec.select_arms(both)  # a contrast between two kept arms stays
    assert [a.name for a in spec.arms] == [n for n in names if n in both + [spec.baseline]]
    assert spec.contrasts == [('small-d_lg1e-2', 'conventional_lg1e-2')]
    spec.select_arms(both[:1])  # its reference dropped: the contrast goes
    assert [a.name for a in spec.arms] == ['hrnet', 'small-d_lg1e-2'] and spec.contrasts == []
    spec.select_arms([])
    assert [a.name for a in spec.arms] == [spec.baseline] and spec.contrasts == []
    with pytest.raises(SpecError, match=r"\['nope'\] not in hrgan_vs_hrnet \(arms: \['hrnet'\]\)"):
        spec.select_arms(['nope'])


@pytest.mark.parametrize('shipped', ['hrgan_vs_hrnet', 'adv_aug_vs_random', 'hourglass_units'])
def test_shipped_specs_load_and_build(shipped):
    """Every shipped spec loads, and every arm's merged config builds its
    model and hooks (a wrong option value fails here, not an hour in)."""
    from mmengine.config import Config
    from mmpose.registry import HOOKS, MODELS
    spec = load_spec(osp.join(REPO, 'configs', 'experiments', f'{shipped}.py'), REPO)
    assert len(spec.seeds) >= 5 and spec.baseline in [a.name for a in spec.arms]
    assert 'synthetic' in spec.description.lower() and 'minutes' in spec.description
    for arm in spec.arms:
        cfg = Config.fromfile(osp.join(REPO, arm.config))
        cfg.merge_from_dict(spec.run_options(arm, spec.seeds[0]))
        assert MODELS.build(cfg.model) is not None, arm.name
        for hook in cfg.custom_hooks:
            HOOKS.build(dict(hook))


def test_res_wide_has_the_parameters_of_hru():
    """hourglass_units' `res-wide` widens the residual hourglass to within
    5% of the HRU arm's parameters (HRUs have about 4x a residual unit's), so
    capacity and the unit's design come apart."""
    from mmengine.config import Config
    from mmpose.registry import MODELS
    spec = load_spec(osp.join(REPO, 'configs', 'experiments', 'hourglass_units.py'), REPO)
    params = {}
    for arm in spec.arms:
        cfg = Config.fromfile(osp.join(REPO, arm.config))
        cfg.merge_from_dict(spec.run_options(arm, 0))
        params[arm.name] = sum(p.numel() for p in MODELS.build(cfg.model).parameters())
    assert params['res'] / params['hru'] < 0.3
    assert 0.95 <= params['res-wide'] / params['hru'] <= 1.05
