"""An experiment's figures, readable at the width the README shows them.

Arms run down the y axis (their names never collide), one colour per arm in
every figure of a spec, and an arm that collapsed or diverged is annotated
at the axis edge instead of setting the scale. :func:`layout_problems`
checks a drawn figure for overlapping tick labels and text past its edges;
:func:`plot_all` reports what it finds.
"""
from __future__ import annotations

import math
import os.path as osp
import warnings

import numpy as np

from .analysis import analyse, collapsed_arms
from .results import by_seed, curve_by_seed
from .spec import ExperimentSpec
from .statistics import bootstrap_interval, summarise

DPI = 110
PANEL_WIDTH = 3.4  # inches per panel; the README shows figures at about 800 px


def arm_colours(spec: ExperimentSpec) -> dict:
    """The colour of each arm (tab10 in the spec's order), shared by every figure."""
    import matplotlib.pyplot as plt
    return {a.name: plt.get_cmap('tab10')(i % 10) for i, a in enumerate(spec.arms)}


def _drawn_texts(fig) -> tuple[list, list]:
    """(tick-label groups per axis, every other drawn text) of a drawn figure."""
    groups, texts = [], [t for t in fig.texts if t.get_text()]
    if getattr(fig, '_suptitle', None) is not None:
        texts.append(fig._suptitle)
    for legend in fig.legends:
        texts += legend.get_texts()
    for ax in (a for a in fig.axes if a.get_visible()):
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            labels = [label for loc, label in zip(axis.get_majorticklocs(),
                                                  axis.get_majorticklabels())
                      if lo - 1e-9 <= loc <= hi + 1e-9 and label.get_visible()
                      and label.get_text()]
            groups.append(labels)
            texts += labels
        texts += [t for t in (ax.title, ax._left_title, ax._right_title,
                              ax.xaxis.label, ax.yaxis.label) if t.get_text()]
        texts += [t for t in ax.texts if t.get_visible() and t.get_text()]
        if ax.get_legend() is not None:
            texts += ax.get_legend().get_texts()
    return groups, texts


def layout_problems(fig) -> list:
    """What makes a figure unreadable: two tick labels of one axis that
    overlap, two titles that overlap, and any text reaching past the
    figure's edges (extents from matplotlib's renderer)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    width, height = fig.bbox.width, fig.bbox.height
    groups, texts = _drawn_texts(fig)
    problems = []
    for labels in groups:
        boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in labels]
        for i, (a, box_a) in enumerate(boxes):
            for b, box_b in boxes[i + 1:]:
                if box_a.overlaps(box_b):
                    problems.append(f'tick labels {a!r} and {b!r} overlap')
    titles = [ax.title for ax in fig.axes if ax.get_visible() and ax.title.get_text()]
    for i, a in enumerate(titles):
        for b in titles[i + 1:]:
            if a.get_window_extent(renderer).overlaps(b.get_window_extent(renderer)):
                problems.append(f'titles {a.get_text()!r} and {b.get_text()!r} overlap')
    for t in texts:
        box = t.get_window_extent(renderer)
        if box.x0 < -0.5 or box.y0 < -0.5 or box.x1 > width + 0.5 or box.y1 > height + 0.5:
            problems.append(f'text {t.get_text()!r} extends past the figure')
    return problems


def _grid(n: int, rows_per_panel: int):
    import matplotlib.pyplot as plt
    cols = min(3, n)
    rows = math.ceil(n / cols)
    height = max(2.0, 0.32 * rows_per_panel + 1.3)
    fig, axes = plt.subplots(rows, cols, figsize=(PANEL_WIDTH * cols + 0.8, height * rows),
                             squeeze=False, layout='constrained')
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def _limits(spans: list) -> tuple:
    lo, hi = min(s[0] for s in spans), max(s[1] for s in spans)
    pad = 0.08 * (hi - lo) if hi > lo else max(abs(hi) * 0.05, 1e-3)
    return lo - pad, hi + pad


def _dot_panel(ax, rows: list, colours: dict, collapsed: dict, zero_line: bool = False):
    """One row per arm, top to bottom: per-seed dots, the mean and its
    interval in black. ``rows`` is ``[(arm, values, Summary)]``; collapsed
    arms are drawn at the axis edge with their reason."""
    spans = []
    for arm, vals, s in rows:
        if arm not in collapsed and vals:
            spans.append((min(vals + [s.ci_low if s.ci_low is not None else s.mean]),
                          max(vals + [s.ci_high if s.ci_high is not None else s.mean])))
    if zero_line:
        spans.append((0.0, 0.0))
    lo, hi = _limits(spans) if spans else (0.0, 1.0)
    ax.set_xlim(lo, hi)
    for y, (arm, vals, s) in enumerate(rows):
        outside = [v for v in vals if not lo <= v <= hi] or not vals
        if arm in collapsed and outside:
            edge_low = (s.mean if math.isfinite(s.mean) else lo) < lo
            x = lo if edge_low else hi
            ax.scatter([x], [y], marker='<' if edge_low else '>', color=colours[arm],
                       clip_on=False, zorder=3)
            ax.annotate(f'{collapsed[arm]}: {s.mean:.3g}', (x, y),
                        xytext=(6 if edge_low else -6, 0), textcoords='offset points',
                        ha='left' if edge_low else 'right', va='center', fontsize=7)
            continue
        if not vals:  # an arm without a finished run (every seed failed): an empty row
            continue
        jitter = np.linspace(-0.12, 0.12, len(vals)) if len(vals) > 1 else [0.0]
        ax.scatter(vals, [y + j for j in jitter], s=16, color=colours[arm], alpha=0.75)
        if s.n:
            err = None if s.ci_low is None else [[s.mean - s.ci_low], [s.ci_high - s.mean]]
            ax.errorbar([s.mean], [y + 0.3], xerr=err, fmt='D', color='black', capsize=3,
                        markersize=4)
    if zero_line:
        ax.axvline(0.0, color='grey', lw=1, ls='--')
    ax.set_yticks(range(len(rows)), [r[0] for r in rows], fontsize=8)
    ax.set_ylim(len(rows) - 0.4, -0.6)
    ax.tick_params(axis='x', labelsize=7)
    ax.xaxis.set_major_locator(_locator())
    ax.grid(axis='x', alpha=0.3)


def _locator():
    from matplotlib.ticker import MaxNLocator
    return MaxNLocator(nbins=4)


def draw_metrics(spec: ExperimentSpec, results: list):
    """Per metric, each arm's seeds (dots) with the mean and 95% interval;
    None when every metric is saturated."""
    stats = analyse(spec, results)
    shown = [st for st in stats.values() if st.saturated is None]
    if not shown:  # every metric at its bound in every run: nothing to draw
        return None
    colours, collapsed = arm_colours(spec), collapsed_arms(spec, results)
    fig, axes = _grid(len(shown), len(spec.arms))
    for ax, st in zip(axes, shown):
        rows = [(a.name, list(by_seed(results, a.name, st.name).values()),
                 st.summaries[a.name]) for a in spec.arms]
        _dot_panel(ax, rows, colours, collapsed)
        kind = 'primary' if st.primary else 'exploratory'
        ax.set_title(f'{st.name}\n{kind}, {st.direction} is better', fontsize=8)
    fig.suptitle(f'{spec.name}: per seed (dots)\nmean and 95% interval; synthetic data',
                 fontsize=9)
    return fig


def draw_paired(spec: ExperimentSpec, results: list):
    """Per metric, each arm's per-seed difference to the baseline with its
    mean and 95% CI; None with one arm or every metric saturated."""
    others = [a.name for a in spec.arms if a.name != spec.baseline]
    if not others:
        return None
    stats = analyse(spec, results)
    shown = [st for st in stats.values() if st.saturated is None]
    if not shown:
        return None
    colours, collapsed = arm_colours(spec), collapsed_arms(spec, results)
    fig, axes = _grid(len(shown), len(others))
    for ax, st in zip(axes, shown):
        rows = [(arm, list(st.paired[arm].per_seed.values()), st.paired[arm].diff)
                for arm in others]
        _dot_panel(ax, rows, colours, collapsed, zero_line=True)
        ax.set_title(f'{st.name}\n{st.direction} is better', fontsize=8)
    fig.suptitle(f'{spec.name}: arm - {spec.baseline} per seed\nmean and 95% CI; '
                 'synthetic data', fontsize=9)
    return fig


def _band(values: list, bound) -> tuple:
    s = summarise(values)
    if s.n < 2:
        return s.mean, s.mean, s.mean
    if bound:
        low, high = bootstrap_interval(values)
        return s.mean, low, high
    return s.mean, s.ci_low, s.ci_high


def draw_learning_curves(spec: ExperimentSpec, results: list):
    """The primary metric against iteration (mean per arm, 95% band) and
    each arm's paired difference to the baseline against iteration; None
    without recorded curves."""
    from .analysis import metric_bound
    metric = spec.primary
    curves = {a.name: curve_by_seed(results, a.name, metric) for a in spec.arms}
    if not any(curves.values()):
        return None
    bound = metric_bound(spec, results, metric)
    colours, collapsed = arm_colours(spec), collapsed_arms(spec, results)
    import matplotlib.pyplot as plt
    paired = len(curves) > 1  # a one-arm probe has no paired panel
    fig, axes = plt.subplots(1, 1 + paired, figsize=((1 + paired) * PANEL_WIDTH + 0.8, 3.4),
                             layout='constrained', squeeze=False)
    ax, dax = axes[0, 0], axes[0, -1]
    spans, dspans = [], []
    base = curves[spec.baseline]
    for arm, per_seed in curves.items():
        its = sorted({it for c in per_seed.values() for it in c})
        pts = [_band([c[it] for c in per_seed.values() if it in c], bound) for it in its]
        if not pts:
            continue
        label = f'{arm} ({collapsed[arm]})' if arm in collapsed else arm
        mean, low, high = map(np.array, zip(*pts))
        ax.plot(its, mean, color=colours[arm], lw=1.5, label=label)
        ax.fill_between(its, low, high, color=colours[arm], alpha=0.2, lw=0)
        if arm not in collapsed:
            spans.append((np.nanmin(low), np.nanmax(high)))
        if arm == spec.baseline:
            continue
        dpts = []
        for it in its:
            diffs = [per_seed[s][it] - base[s][it] for s in per_seed
                     if it in per_seed[s] and s in base and it in base[s]]
            if diffs:
                dpts.append((it, *_band(diffs, None)))
        if dpts:
            dit, dmean, dlow, dhigh = map(np.array, zip(*dpts))
            dax.plot(dit, dmean, color=colours[arm], lw=1.5)
            dax.fill_between(dit, dlow, dhigh, color=colours[arm], alpha=0.2, lw=0)
            if arm not in collapsed:
                dspans.append((np.nanmin(dlow), np.nanmax(dhigh)))
    if spans:
        ax.set_ylim(*_limits(spans))
    ax.set_title(f'{metric} (validation)', fontsize=9)
    if paired:
        dspans.append((0.0, 0.0))
        dax.set_ylim(*_limits(dspans))
        dax.axhline(0.0, color='grey', lw=1, ls='--')
        dax.set_title(f'arm - {spec.baseline}, paired', fontsize=9)
    for a in axes[0]:
        a.set_xlabel('iteration', fontsize=8)
        a.tick_params(labelsize=7)
        a.xaxis.set_major_locator(_locator())
        a.grid(alpha=0.3)
    fig.legend(loc='outside lower center', ncols=min(4, len(curves)), fontsize=7)
    fig.suptitle(f'{spec.name}: learning curves\nmean and 95% band over seeds; '
                 'synthetic data', fontsize=9)
    return fig


def draw_training_curves(spec: ExperimentSpec, results: list):
    """The spec's logged training scalars, one line per run; None without them."""
    keys = [k for k in spec.curves if any(k in r.get('curves', {}) for r in results)]
    if not keys:
        return None
    colours = arm_colours(spec)
    fig, axes = _grid(len(keys), 6)
    arms = [a.name for a in spec.arms]
    seen = set()
    for ax, key in zip(axes, keys):
        for r in sorted(results, key=lambda r: (arms.index(r['arm']), r['seed'])):
            if key not in r.get('curves', {}):
                continue
            its, vals = zip(*r['curves'][key])
            label = None if r['arm'] in seen else r['arm']
            seen.add(r['arm'])
            ax.plot(its, vals, color=colours[r['arm']], alpha=0.6, lw=1, label=label)
        ax.set_title(key, fontsize=9)
        ax.set_xlabel('iteration', fontsize=8)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(_locator())
        ax.grid(alpha=0.3)
    fig.legend(loc='outside lower center', ncols=min(4, len(seen)), fontsize=7)
    fig.suptitle(f'{spec.name}: training scalars\none line per run; synthetic data',
                 fontsize=9)
    return fig


FIGURES = {'metrics.png': draw_metrics, 'paired_difference.png': draw_paired,
           'learning_curves.png': draw_learning_curves, 'curves.png': draw_training_curves}


def plot_all(out_dir: str, spec: ExperimentSpec, results: list, pretrain: tuple = ()) -> list:
    """Write every figure that has data (``pretrain``: the spec's finished
    stage-1 runs, for ``baseline_curve.png``); returns their file names. A
    figure with layout problems is still written, with a warning naming them."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from .baseline_curve import draw_baseline_curve
    written = []
    figures = {**FIGURES, 'baseline_curve.png': lambda spec, results: draw_baseline_curve(
        spec, results, list(pretrain))}
    for name, draw in figures.items():
        fig = draw(spec, results)
        if fig is None:
            continue
        problems = layout_problems(fig)
        if problems:
            warnings.warn(f'{name}: ' + '; '.join(problems), stacklevel=2)
        fig.savefig(osp.join(out_dir, name), dpi=DPI)
        plt.close(fig)
        written.append(name)
    return written
