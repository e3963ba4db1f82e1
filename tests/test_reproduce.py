"""tools/reproduce.py: one published (arm, seed) trained again and compared
with its committed metrics."""
import json
import math

import pytest
import torch
from utils import QUICKSTART_COCO, REPO, run_tool, tiny_spec_options, write_spec

from hrgan_plugin.experiments.machine import code_version, cpu_model


def test_reproduce_retrains_one_run_and_compares_every_metric(synthetic_root, tmp_path):
    """A tiny spec with a shared stage 1 is run and published; the arm's
    rerun from the published stage-1 weights, at the recorded thread count,
    gives the same metrics (exit 0) when given the grid's --cfg-options, and
    so does a stage 1 trained again where its weights are not published; an
    unknown arm or seed, a result of another config, or the grid's options
    left out are refused before any training (exit 2)."""
    spec = write_spec(
        tmp_path / 'tiny.py', 'Tiny synthetic check.',
        pretrain=dict(config=QUICKSTART_COCO), pretrain_seed=0,
        arms=dict(hrnet=dict(config=QUICKSTART_COCO)), baseline='hrnet', seeds=[1],
        metrics={'coco/AP': 'higher', 'occlusion/PCK': 'higher'}, primary='coco/AP',
        schedule={'train_cfg.max_epochs': 1, 'train_cfg.val_interval': 1,
                  'train_dataloader.batch_size': 8},
        cfg_options=tiny_spec_options(synthetic_root))
    out = tmp_path / 'out'
    options = ['--cfg-options', 'default_hooks.checkpoint.max_keep_ckpts=2']
    proc = run_tool('tools/experiment.py', spec, '--out', str(out), '--jobs', '2', *options)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    committed = out / 'results' / 'hrnet' / 'seed1.json'
    result = json.loads(committed.read_text())
    # a run alone takes every slot of --jobs 2: the threads this process has
    assert result['threads'] == torch.get_num_threads()
    assert result['cpu'] == cpu_model()  # the kind of CPU it computed on
    assert result['code'] == code_version(REPO)  # and the commit of its code
    assert (out / 'results' / '_pretrain' / 'seed0.pth').is_file()

    args = ['tools/reproduce.py', spec, 'hrnet', '1', '--from', str(out), *options]
    proc = run_tool(*args, '--out', str(tmp_path / 're'))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f'hrnet seed 1: training again with {result["threads"]} thread(s)' in proc.stdout
    n = len(result['metrics'])
    assert f'reproduced: all {n} metrics within 0 of {committed}' in proc.stdout
    assert 'iterations 2 -> 2' in proc.stdout

    proc = run_tool('tools/reproduce.py', spec, 'nope', '1', '--from', str(out))
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[-1] == (
        f"error: {spec}: no arm 'nope'; the arms are ['_pretrain', 'hrnet']")
    proc = run_tool('tools/reproduce.py', spec, 'hrnet', '3', '--from', str(out))
    assert proc.returncode == 2 and 'no published result for hrnet seed 3' in proc.stderr
    proc = run_tool(*args[:-2])  # without the grid's --cfg-options: another stage 1
    assert proc.returncode == 2 and 'of another config than the spec' in proc.stderr
    assert 'or the grid ran with other --cfg-options' in proc.stderr
    committed.write_text(json.dumps(dict(result, key='0123')))
    proc = run_tool(*args)
    assert proc.returncode == 2
    assert 'published for another config (key 0123' in proc.stderr
    assert 'the spec or its configs changed since' in proc.stderr
    committed.write_text(json.dumps(result))

    # stage-1 weights not published: the stage 1 is trained again and compared first
    (out / 'results' / '_pretrain' / 'seed0.pth').unlink()
    proc = run_tool(*args, '--out', str(tmp_path / 're2'))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'the stage-1 weights are not published: _pretrain seed 0 first' in proc.stdout
    stage1_file = out / 'results' / '_pretrain' / 'seed0.json'
    assert f'metrics within 0 of {stage1_file}' in proc.stdout
    assert '_pretrain seed 0: reproduced: all' in proc.stdout
    assert f'hrnet seed 1: reproduced: all {n} metrics within 0 of {committed}' in proc.stdout
    # again into the same folder: the stage 1 trained there is compared, not trained
    proc = run_tool(*args, '--out', str(tmp_path / 're2'))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert '_pretrain seed 0: trained again before' in proc.stdout
    assert '_pretrain seed 0: reproduced: all' in proc.stdout
    assert 'hrnet seed 1: trained again; the earlier run is kept in' in proc.stdout
    stage1_file.unlink()
    proc = run_tool(*args)
    assert proc.returncode == 2 and 'nor is the stage-1 result' in proc.stderr


def test_compare_names_every_metric_that_differs_or_is_missing(monkeypatch):
    """|difference| per metric over both results; beyond the tolerance, or
    present in one result only, a metric disagrees."""
    monkeypatch.syspath_prepend(f'{REPO}/tools')
    from reproduce import compare
    rows, bad = compare({'AP': 0.5, 'PCK': 80.0, 'gone': 1.0},
                        {'AP': 0.5, 'PCK': 80.25, 'new': 2.0}, tol=0.1)
    assert [r[0] for r in rows] == ['AP', 'PCK', 'gone', 'new']
    assert rows[0][3] == 0.0 and rows[1][3] == 0.25
    assert math.isnan(rows[2][2]) and math.isnan(rows[3][1])
    assert bad == ['PCK', 'gone', 'new']
    assert compare({'PCK': 80.0}, {'PCK': 80.25}, tol=0.25)[1] == []
    assert compare({'AP': math.nan}, {'AP': math.nan}, tol=0)[1] == []  # a collapsed run


def test_seed_spread_is_the_sd_over_the_published_seeds(monkeypatch, tmp_path):
    """The yardstick beside a rerun's |difference|: the sample SD of each
    finite metric over ``seedS.json`` (a kept ``seedS.KEY.json`` of another
    config is no seed; a metric with a NaN or on one seed has none)."""
    monkeypatch.syspath_prepend(f'{REPO}/tools')
    from reproduce import seed_spread
    for name, ap, pck in (('seed0', 0.50, 80.0), ('seed1', 0.52, 81.0), ('seed2', 0.54, math.nan),
                          ('seed0.0123abcd', 9.0, 9.0)):
        (tmp_path / f'{name}.json').write_text(json.dumps(dict(metrics={'AP': ap, 'PCK': pck})))
    (tmp_path / 'seed3.json').write_text(json.dumps(dict(metrics={'AP': 0.52, 'only': 1.0})))
    spread = seed_spread(str(tmp_path))
    assert spread.keys() == {'AP'}  # PCK has a NaN, 'only' one seed
    assert spread['AP'] == pytest.approx(math.sqrt(0.0008 / 3))  # deviations -.02 0 .02 0
    assert seed_spread(str(tmp_path / 'none')) == {}
