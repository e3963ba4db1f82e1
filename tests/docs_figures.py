"""Figures the documentation quotes, recomputed from the files they come from:
paired differences, Holm-adjusted p-values, minimum detectable effects,
baseline levels and mechanism checks from an experiment's ``runs.csv`` and
spec, per-run wall times, and model sizes from
``docs/benchmarks/model_complexity.md``.

A quoted figure matches when the recomputed value, rounded to the decimals
the text shows, is the text's value.
"""
from __future__ import annotations

import csv
import math
import os.path as osp
import re
import statistics

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
NUMBER = r'[+-]?\d+(?:\.\d+)?(?:e[+-]?\d+)?'


def tables(text: str) -> list:
    """Markdown tables as ``(header cells, [(line number, cells), ...])``."""
    out, header, rows = [], None, []
    for i, line in enumerate(text.splitlines(), 1):
        if line.startswith('|'):
            cells = [c.strip() for c in line.strip().strip('|').split('|')]
            if header is None:
                header = cells
            elif not all(re.fullmatch(r':?-+:?', c) for c in cells):
                rows.append((i, cells))
        elif header is not None:
            out.append((header, rows))
            header, rows = None, []
    if header is not None:
        out.append((header, rows))
    return out


def matches(shown: str, value: float) -> bool:
    """``value`` rounded as ``shown`` is written equals it."""
    shown = shown.strip().replace('+', '')
    if 'e' in shown.lower():
        mantissa = shown.lower().split('e')[0]
        digits = len(mantissa.split('.')[1]) if '.' in mantissa else 0
        return f'{value:.{digits}e}' == f'{float(shown):.{digits}e}'
    digits = len(shown.split('.')[1]) if '.' in shown else 0
    return round(value, digits) == round(float(shown), digits) or (
        f'{value:.{digits}f}' == f'{float(shown):.{digits}f}')


def read_runs(report_link: str, page_dir: str) -> list:
    """The rows of the ``runs.csv`` beside a linked ``report.md``."""
    path = osp.normpath(osp.join(page_dir, report_link.split('#')[0]))
    with open(osp.join(osp.dirname(path), 'runs.csv')) as f:
        return list(csv.DictReader(f))


def paired(rows: list, arm: str, baseline: str, metric: str) -> list:
    by_seed = {r['seed']: float(r[metric]) for r in rows if r['arm'] == baseline}
    return [float(r[metric]) - by_seed[r['seed']] for r in rows
            if r['arm'] == arm and r['seed'] in by_seed]


def t_test(diffs: list) -> tuple:
    """Mean, 95% Student t interval and two-sided p of paired differences."""
    from scipy import stats
    n, mean = len(diffs), statistics.fmean(diffs)
    sem = statistics.stdev(diffs) / math.sqrt(n)
    half = stats.t.ppf(0.975, n - 1) * sem
    p = 2 * stats.t.sf(abs(mean / sem), n - 1) if sem else 0.0
    return mean, mean - half, mean + half, p


def holm(pvalues: dict) -> dict:
    """Holm's step-down adjustment."""
    order = sorted(pvalues, key=pvalues.get)
    adjusted, running = {}, 0.0
    for i, name in enumerate(order):
        running = max(running, min(1.0, (len(order) - i) * pvalues[name]))
        adjusted[name] = running
    return adjusted


def mde(diffs: list) -> float:
    """Minimum detectable effect at 80% power, two-sided alpha 0.05."""
    from scipy import stats
    n = len(diffs)
    return (stats.t.ppf(0.975, n - 1) + stats.t.ppf(0.8, n - 1)) * statistics.stdev(
        diffs) / math.sqrt(n)


def _spec_of(report: str):
    """The experiment spec behind ``docs/evidence/NAME/report.md``."""
    from hrgan_plugin.experiments.spec import load_spec
    name = osp.basename(osp.dirname(report))
    return load_spec(osp.join(REPO, 'configs', 'experiments', f'{name}.py'), REPO)


def _mean(rows: list, arm: str, metric: str) -> float:
    return statistics.fmean(float(r[metric]) for r in rows if r['arm'] == arm and r[metric])


def check_claims_table(text: str, page_dir: str) -> list:
    """Problems of the evidence table (columns ``seed claim (source)``,
    ``comparison`` (`` [`arm` - `reference`](.../report.md) ``), ``effect at
    convergence, mean [95% CI]``, ``Holm p``, ``MDE``, ``baseline at
    convergence`` and ``mechanism check``), recomputed from the report's
    runs.csv and its spec: the paired difference of the spec's primary
    metric, the Holm adjustment over every arm against the baseline and the
    spec's contrasts, the baseline's mean and the arm's mechanism check.
    Rows whose effect reads "not run yet" are skipped; a comparison over one
    seed must read "one seed: VALUE" and give no Holm p or MDE."""
    problems, checked = [], 0
    for header, rows in tables(text):
        if 'seed claim (source)' not in header:
            continue
        col = {h: i for i, h in enumerate(header)}
        for line, cells in rows:
            effect = cells[col['effect at convergence, mean [95% CI]']]
            if effect.startswith('not run yet'):
                continue
            link = re.search(r'\]\(([^)]+report\.md)\)', cells[col['comparison']])
            if not link:
                problems.append(f'line {line}: the comparison links no report.md')
                continue
            report = osp.normpath(osp.join(page_dir, link.group(1)))
            spec, runs = _spec_of(report), read_runs(link.group(1), page_dir)
            metric = spec.primary
            arm, ref = re.findall(r'`([^`]+)`', cells[col['comparison']])[:2]
            diffs = paired(runs, arm, ref, metric)
            checked += 1
            if len(diffs) == 1:  # "one seed: +0.0042 ..." -- no interval, no test
                shown = re.findall(NUMBER, effect.split('one seed:')[-1])[0]
                if not effect.startswith('one seed:') or not matches(shown, diffs[0]):
                    problems.append(f'line {line}: {arm} - {ref} {metric}: one paired seed '
                                    f'({diffs[0]:.6g}) must read "one seed: VALUE", got {effect}')
                diffs = []
            stats = t_test(diffs)[:3] if diffs else ()
            for name, s, v in zip(('mean', 'CI low', 'CI high'), re.findall(NUMBER, effect),
                                  stats):
                if not matches(s, v):
                    problems.append(f'line {line}: {arm} - {ref} {metric}: {name} {s}, runs.csv '
                                    f'gives {v:.6g}')
            family = [(a.name, spec.baseline) for a in spec.arms if a.name != spec.baseline]
            family += [tuple(c) for c in spec.contrasts]
            if diffs:
                # as in the report, a comparison of fewer than two seeds has no test
                tested = [c for c in family if len(paired(runs, *c, metric)) > 1]
                adjusted = holm({c: t_test(paired(runs, *c, metric))[3] for c in tested})
                shown = re.findall(NUMBER, cells[col['Holm p']])[0]
                if not matches(shown, adjusted[arm, ref]):
                    problems.append(f'line {line}: {arm} - {ref}: Holm p {shown}, runs.csv '
                                    f'gives {adjusted[arm, ref]:.4g}')
                shown = re.findall(NUMBER, cells[col['MDE']])[0]
                if not matches(shown, mde(diffs)):
                    problems.append(f'line {line}: {arm} - {ref}: MDE {shown}, runs.csv gives '
                                    f'{mde(diffs):.4g}')
            elif re.findall(NUMBER, cells[col['Holm p']] + cells[col['MDE']]):
                problems.append(f'line {line}: {arm} - {ref}: a Holm p or MDE from one seed')
            shown = re.findall(NUMBER, cells[col['baseline at convergence']])[0]
            base = _mean(runs, spec.baseline, metric)
            if not matches(shown, base):
                problems.append(f'line {line}: baseline {spec.baseline} {metric} {shown}, '
                                f'runs.csv gives {base:.4g}')
            mech = cells[col['mechanism check']]
            for name in re.findall(r'`(mech/[^`]+)`', mech):
                shown = re.findall(NUMBER, mech.split(f'`{name}`')[1])[0]
                value = _mean(runs, arm, name)
                if not matches(shown, value):
                    problems.append(f'line {line}: {arm} {name} {shown}, runs.csv gives '
                                    f'{value:.4g}')
    if not checked:
        problems.append('no measured row in an evidence table (column "seed claim (source)")')
    return problems


def check_wall_times(text: str, page_dir: str) -> list:
    """Problems of tables with columns ``report``, ``arm``, ``median wall
    time per run (s)`` and ``iterations``."""
    problems = []
    for header, rows in tables(text):
        if 'median wall time per run (s)' not in header:
            continue
        col = {h: i for i, h in enumerate(header)}
        report = None
        for line, cells in rows:
            link = re.search(r'\]\(([^)]+report\.md)\)', cells[col['report']])
            report = link.group(1) if link else report
            runs = read_runs(report, page_dir)
            arm = re.findall(r'`([^`]+)`', cells[col['arm']])[0]
            own = [r for r in runs if r['arm'] == arm]
            median = statistics.median(float(r['wall_s']) for r in own)
            if not matches(cells[col['median wall time per run (s)']], median):
                problems.append(f'line {line}: {arm}: median wall time '
                                f'{cells[col["median wall time per run (s)"]]}, runs.csv gives '
                                f'{median}')
            if cells[col['iterations']] != own[0]['iters']:
                problems.append(f'line {line}: {arm}: {cells[col["iterations"]]} iterations, '
                                f'runs.csv gives {own[0]["iters"]}')
    return problems


def model_complexity() -> dict:
    """``{config file name: (params (M), GFLOPs)}`` from the generated table."""
    out = {}
    with open(osp.join(REPO, 'docs', 'benchmarks', 'model_complexity.md')) as f:
        for line in f:
            m = re.match(r'^\| `([^`]+)` \| \S+ \| ([\d.]+) \| ([\d.]+) \|', line)
            if m:
                out[osp.basename(m.group(1))] = (m.group(2), m.group(3))
    return out


def check_sizes(text: str) -> list:
    """Table rows naming a config must quote its params and GFLOPs as
    ``tools/model_complexity.py`` counted them."""
    sizes, problems = model_complexity(), []
    for header, rows in tables(text):
        if 'params (M)' not in header or 'GFLOPs' not in header:
            continue
        p, g = header.index('params (M)'), header.index('GFLOPs')
        for line, cells in rows:
            names = [osp.basename(n) for n in re.findall(r'([\w.-]+\.py)', ' '.join(cells))]
            known = [n for n in names if n in sizes]
            if not known:
                continue
            if (cells[p], cells[g]) != sizes[known[0]]:
                problems.append(f'line {line}: {known[0]}: {cells[p]}M / {cells[g]} GFLOPs, '
                                f'model_complexity.md gives {sizes[known[0]]}')
    return problems
