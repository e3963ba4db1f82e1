"""Experiment specs whose arms each train a stage 1 of their own
(``pretrain = dict(per_arm=True, ...)``): arms that are different networks
cannot share one, yet each should reach its plateau before the phase the
spec judges."""
import os.path as osp

import pytest
from utils import QUICKSTART_COCO, QUICKSTART_HRGAN, REPO, write_spec

from hrgan_plugin.experiments.report import _stage1_lines
from hrgan_plugin.experiments.spec import SpecError, is_pretrain, load_spec

STAGE1 = {'train_cfg.max_epochs': 3, 'optim_wrapper.optimizer.lr': 1e-3}


def _spec(tmp_path, schedule=None, **fields):
    return load_spec(write_spec(
        tmp_path / 'staged.py', 'Per-arm stage 1.',
        arms=dict(a=dict(config=QUICKSTART_COCO),
                  b=dict(config=QUICKSTART_HRGAN, cfg_options={'model.lambda_g': 0.5})),
        baseline='a', seeds=[0, 1], metrics={'coco/AP': 'higher'}, primary='coco/AP',
        schedule=schedule or {'train_cfg.max_epochs': 1, 'optim_wrapper.optimizer.lr': 1e-4},
        **fields), REPO)


def test_each_arm_starts_from_its_own_stage_1(tmp_path, monkeypatch):
    """Every (arm, seed) has a stage-1 run ``_pretrain-ARM`` of the arm's own
    network, its config and options over the pretrain's; the arm's run
    loads that run's archived weights, and a stage-1 run is exactly the run
    a spec with the stage-1 options as its schedule plans (same key), so
    runs trained before the split are taken as they are."""
    monkeypatch.syspath_prepend(osp.join(REPO, 'tools'))
    import experiment
    spec = _spec(tmp_path, pretrain=dict(per_arm=True, cfg_options=STAGE1))
    assert spec.pretrain is None and [p.name for p in spec.pretrains] == [
        '_pretrain-a', '_pretrain-b']
    assert is_pretrain('_pretrain-b') and is_pretrain('_pretrain') and not is_pretrain('b')
    out = str(tmp_path / 'out')
    pretrains, runs = experiment.plan(spec, out, {})
    assert [(p.arm.name, p.seed) for p in pretrains] == [
        ('_pretrain-a', 0), ('_pretrain-a', 1), ('_pretrain-b', 0), ('_pretrain-b', 1)]
    for p in pretrains:
        assert p.cfg.train_cfg.max_epochs == 3 and p.cfg.optim_wrapper.optimizer.lr == 1e-3
        assert p.cfg.randomness.seed == p.seed
    assert pretrains[2].cfg.model.type == 'AdversarialTopdownPoseEstimator'
    assert pretrains[2].cfg.model.lambda_g == 0.5
    assert pretrains[0].cfg.model.type == 'TopdownPoseEstimator'
    for run in runs:
        assert run.pretrain.arm.name == f'_pretrain-{run.arm.name}'
        assert run.pretrain.seed == run.seed
        assert run.cfg.load_from == osp.join(out, 'results', f'_pretrain-{run.arm.name}',
                                             f'seed{run.seed}.pth')
        assert run.cfg.train_cfg.max_epochs == 1 and run.cfg.optim_wrapper.optimizer.lr == 1e-4

    (tmp_path / 'plain').mkdir()
    plain = _spec(tmp_path / 'plain', schedule=STAGE1)  # the runs before the split
    _, before = experiment.plan(plain, str(tmp_path / 'before'), {})
    assert [p.key for p in pretrains] == [
        r.key for arm in 'ab' for r in before if r.arm.name == arm]

    # pretrain_seed: one stage 1 per arm, shared by every seed
    shared = _spec(tmp_path, pretrain=dict(per_arm=True, cfg_options=STAGE1), pretrain_seed=0)
    pretrains, runs = experiment.plan(shared, out, {})
    assert [(p.arm.name, p.seed) for p in pretrains] == [('_pretrain-a', 0), ('_pretrain-b', 0)]
    assert {r.pretrain.seed for r in runs} == {0}
    # --arms: only the kept arms' stage 1s
    spec.select_arms(['a'])
    assert [p.name for p in spec.pretrains] == ['_pretrain-a']


def test_per_arm_stage_1_in_the_report_and_refused_keys(tmp_path):
    spec = _spec(tmp_path, pretrain=dict(per_arm=True, cfg_options={'train_cfg.max_epochs': 3}))
    assert _stage1_lines(spec) == [
        "- every arm starts from the final weights of its own stage 1 (`_pretrain-ARM`: the "
        "arm's config, then `train_cfg.max_epochs=3`)"]
    with pytest.raises(SpecError, match=r"pretrain with per_arm has unknown keys \['config'\]"):
        _spec(tmp_path, pretrain=dict(per_arm=True, config=QUICKSTART_COCO))
