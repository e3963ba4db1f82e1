"""An experiment's results on disk: each run's logged scalars, ``runs.csv``
(final metrics, one row per run) and ``curves.csv`` (every validation metric
at every validation point, one row per value).

A result is a dict ``arm, seed, metrics {name: value}, wall_s, iters`` plus,
for runs trained by this version of the runner, ``val_curves``
(``[[iteration, {metric: value}], ...]``) and ``curves`` (logged training
scalars, ``{key: [[iteration, value], ...]}``).
"""
from __future__ import annotations

import csv
import json
import os
import os.path as osp
import shutil

#: keys of a logged record that are not metrics
NOT_METRICS = {'data_time', 'time', 'step', 'iter', 'epoch', 'lr', 'memory'}
CSV_FIXED = ('arm', 'seed')
CSV_TAIL = ('wall_s', 'iters')
CURVE_COLUMNS = ('arm', 'seed', 'iteration', 'metric', 'value')
#: AdversarialAugmentationHook's log of its distributions (its ``out_file``)
AUGMENTATION_LOG = 'adversarial_augmentation.jsonl'
#: logs of a run folder kept beside its archived result, as
#: ``results/ARM/seedS.NAME`` (tools/learned_distributions.py reads them)
KEPT_LOGS = (AUGMENTATION_LOG,)


class RunFailed(RuntimeError):
    """A run that did not produce what the report needs."""


def keep_logs(run_dir: str, archive: str | None) -> None:
    """Copy the :data:`KEPT_LOGS` ``run_dir`` wrote beside its archived
    result ``archive`` (``OUT/results/ARM/seedS.json``), so they outlive
    the run folder and are published with the result."""
    for name in KEPT_LOGS:
        if archive is not None and osp.isfile(osp.join(run_dir, name)):
            os.makedirs(osp.dirname(archive), exist_ok=True)
            shutil.copyfile(osp.join(run_dir, name), f'{osp.splitext(archive)[0]}.{name}')


def read_scalars(work_dir: str) -> list:
    """The json log records (``TIMESTAMP/vis_data/scalars.json``) of a run,
    in order. A resumed run logs each segment under a timestamp of its own;
    the segments are joined, and the records an interrupted segment logged
    past the checkpoint the next one resumed from (iterations trained again)
    are replaced by the next segment's."""
    stamps = sorted(d for d in os.listdir(work_dir)
                    if osp.isdir(osp.join(work_dir, d, 'vis_data')))
    if not stamps:
        raise RunFailed(f'{work_dir}: no TIMESTAMP/vis_data/ folder (the run logged nothing)')
    records = []
    for stamp in stamps:
        path = osp.join(work_dir, stamp, 'vis_data', 'scalars.json')
        if not osp.isfile(path):  # a segment that logged nothing (resumed at its end)
            continue
        with open(path) as f:
            segment = [json.loads(line) for line in f if line.strip()]
        starts = [_iteration(r) for r in segment if 'iter' in r]
        if starts:
            records = [r for r in records if _iteration(r) < min(starts)]
        records += segment
    return records


def _iteration(record: dict) -> int:
    """The training iteration a log record was taken at."""
    return int(record.get('iter', record.get('step', 0)))


def summarise_run(records: list, curve_keys: list) -> dict:
    """Final validation metrics, iterations, validation curves and training
    curves of a run's log records. A validation record's ``step`` is the
    training iteration it was taken at when the logger logs metrics by
    iteration (``log_metric_by_epoch=False``, which the runner sets)."""
    train = [r for r in records if 'iter' in r]
    val = [r for r in records if 'iter' not in r and set(r) - NOT_METRICS]
    if not val:
        raise RunFailed('the run logged no validation metrics (is val_interval past '
                        'max_epochs?)')
    metrics = {k: v for k, v in val[-1].items() if k not in NOT_METRICS}
    val_curves = [[int(r['step']), {k: v for k, v in r.items() if k not in NOT_METRICS}]
                  for r in val if 'step' in r]
    curves = {k: [(r['iter'], r[k]) for r in train if k in r] for k in curve_keys}
    return dict(metrics=metrics, iters=max((r['iter'] for r in train), default=0),
                val_curves=val_curves, curves={k: v for k, v in curves.items() if v})


def metric_columns(primary_first: list, results: list) -> list:
    """``primary_first`` (the spec's metrics), then every other final metric, sorted."""
    others = sorted({k for r in results for k in r['metrics']} - set(primary_first))
    return [*primary_first, *others]


def write_runs_csv(path: str, metrics: list, results: list) -> None:
    """One row per (arm, seed): ``arm, seed``, every final metric (``metrics``
    first), wall time (s) and iterations."""
    columns = metric_columns(metrics, results)
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow([*CSV_FIXED, *columns, *CSV_TAIL])
        for r in results:
            writer.writerow([r['arm'], r['seed'], *(r['metrics'].get(c, '') for c in columns),
                             round(r['wall_s'], 1), r['iters']])


def read_runs_csv(path: str) -> list:
    """The rows of a ``runs.csv`` back as results (metrics as floats)."""
    with open(path, newline='') as f:
        rows = list(csv.DictReader(f))
    missing = set(CSV_FIXED + CSV_TAIL) - set(rows[0] if rows else CSV_FIXED + CSV_TAIL)
    if missing:
        raise ValueError(f'{path}: missing columns {sorted(missing)}')
    results = []
    for row in rows:
        metrics = {k: float(v) for k, v in row.items()
                   if k not in CSV_FIXED + CSV_TAIL and v != ''}
        results.append(dict(arm=row['arm'], seed=int(row['seed']), metrics=metrics,
                            wall_s=float(row['wall_s']), iters=int(row['iters'])))
    return results


def write_curves_csv(path: str, results: list) -> int:
    """``arm, seed, iteration, metric, value`` for every validation metric
    at every validation point of every run; returns the number of rows."""
    rows = [(r['arm'], r['seed'], it, metric, value)
            for r in results for it, values in r.get('val_curves', [])
            for metric, value in sorted(values.items())]
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(CURVE_COLUMNS)
        writer.writerows(rows)
    return len(rows)


def read_curves_csv(path: str, results: list) -> None:
    """Attach the rows of a ``curves.csv`` to ``results`` as ``val_curves``."""
    with open(path, newline='') as f:
        reader = csv.DictReader(f)
        missing = set(CURVE_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f'{path}: missing columns {sorted(missing)}')
        points: dict = {}
        for row in reader:
            key = (row['arm'], int(row['seed']))
            points.setdefault(key, {}).setdefault(int(row['iteration']), {})[
                row['metric']] = float(row['value'])
    for r in results:
        curve = points.get((r['arm'], r['seed']), {})
        r['val_curves'] = [[it, curve[it]] for it in sorted(curve)]


def by_seed(results: list, arm: str, metric: str) -> dict:
    """``{seed: final value}`` of one arm's metric."""
    return {r['seed']: float(r['metrics'][metric]) for r in results
            if r['arm'] == arm and metric in r['metrics']}


def curve_by_seed(results: list, arm: str, metric: str) -> dict:
    """``{seed: {iteration: value}}`` of one arm's validation curve."""
    out = {}
    for r in results:
        if r['arm'] == arm:
            points = {it: v[metric] for it, v in r.get('val_curves', []) if metric in v}
            if points:
                out[r['seed']] = points
    return out


def published_results(out: str, arms: list, seeds: list) -> list:
    """The results kept in ``out/runs.csv`` (and ``out/curves.csv`` when it
    exists) for these arms and seeds: a published report regenerated
    without its run folders."""
    results = [r for r in read_runs_csv(osp.join(out, 'runs.csv'))
               if r['arm'] in arms and r['seed'] in seeds]
    if osp.isfile(osp.join(out, 'curves.csv')):
        read_curves_csv(osp.join(out, 'curves.csv'), results)
    return results
