"""Figures the documentation quotes, recomputed from the files they come from:
paired differences, wins and Holm-adjusted p-values from an experiment's
``runs.csv``, per-run wall times, and model sizes from
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


def check_evidence_summary(text: str, page_dir: str) -> list:
    """Problems of the evidence summary table: columns ``report`` (a link to
    a report.md), ``comparison`` (`` `arm` - `baseline` ``), ``metric``,
    ``paired difference, mean [95% CI]``, ``better on`` and ``Holm p``."""
    problems, checked = [], 0
    for header, rows in tables(text):
        if 'comparison' not in header or 'Holm p' not in header:
            continue
        col = {h: i for i, h in enumerate(header)}
        report = None
        for line, cells in rows:
            link = re.search(r'\]\(([^)]+report\.md)\)', cells[col['report']])
            report = link.group(1) if link else report
            runs = read_runs(report, page_dir)
            arm, baseline = re.findall(r'`([^`]+)`', cells[col['comparison']])
            metric = re.findall(r'`([^`]+)`', cells[col['metric']])[0]
            diffs = paired(runs, arm, baseline, metric)
            mean, lo, hi, _ = t_test(diffs)
            shown = re.findall(NUMBER, cells[col['paired difference, mean [95% CI]']])
            for name, s, v in zip(('mean', 'CI low', 'CI high'), shown, (mean, lo, hi)):
                if not matches(s, v):
                    problems.append(f'line {line}: {arm} - {baseline} {metric}: {name} {s}, '
                                    f'runs.csv gives {v:.6g}')
            wins, n = map(int, re.findall(r'\d+', cells[col['better on']])[:2])
            if (wins, n) != (sum(d > 0 for d in diffs), len(diffs)):
                problems.append(f'line {line}: {arm}: better on {wins} of {n}, runs.csv gives '
                                f'{sum(d > 0 for d in diffs)} of {len(diffs)}')
            arms = sorted({r['arm'] for r in runs} - {baseline})
            adjusted = holm({a: t_test(paired(runs, a, baseline, metric))[3] for a in arms})
            if not matches(cells[col['Holm p']], adjusted[arm]):
                problems.append(f'line {line}: {arm}: Holm p {cells[col["Holm p"]]}, runs.csv '
                                f'gives {adjusted[arm]:.4g}')
            checked += 1
    if not checked:
        problems.append('no evidence summary table (columns comparison ... Holm p) found')
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
