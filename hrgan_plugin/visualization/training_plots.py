"""Figures written during training: scalar curves (TrainingCurveHook) and the
learned augmentation distributions (AdversarialAugmentationHook)."""
from __future__ import annotations

import json
import os.path as osp
from collections.abc import Sequence

import numpy as np

from ..models.augmentation.adversarial_augmenter import DISTRIBUTIONS


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def plot_curves(history: dict[str, list[tuple[int, float]]], keys: Sequence[str],
                path: str) -> bool:
    """One subplot per key with recorded ``(iteration, value)`` points;
    keys without points are left out. Returns whether a figure was written."""
    keys = [k for k in keys if history.get(k)]
    if not keys:
        return False
    fig = _figure(6, 2.2 * len(keys))
    for i, key in enumerate(keys, start=1):
        ax = fig.add_subplot(len(keys), 1, i)
        its, values = zip(*history[key])
        ax.plot(its, values, linewidth=1.2)
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
    ax.set_xlabel('iteration')
    fig.tight_layout()
    fig.savefig(path)
    return True


def plot_distributions(jsonl: str, out_png: str, grid: Sequence[int]) -> bool:
    """Heat-strips of the logged augmentation distributions over training
    (Peng et al., Fig. 5): one panel per distribution, bins against the
    augmentation net's updates (agent pre-training, then joint training).
    Returns whether a figure was written."""
    if not osp.isfile(jsonl):
        return False
    with open(jsonl) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    if not lines:
        return False
    fig = _figure(8, 7)
    its = [r.get('update', r['iter']) for r in lines]
    for i, key in enumerate(DISTRIBUTIONS, start=1):
        ax = fig.add_subplot(3, 1, i)
        data = np.array([r[key] for r in lines]).T
        im = ax.imshow(data, aspect='auto', origin='lower', cmap='viridis',
                       extent=(its[0] - 0.5, its[-1] + 0.5, -0.5, data.shape[0] - 0.5))
        ax.set_ylabel(f'{key} bin' if key != 'occlusion' else f'cell ({grid[0]}x{grid[1]})')
        fig.colorbar(im, ax=ax)
    ax.set_xlabel('augmentation-net update')
    fig.tight_layout()
    fig.savefig(out_png)
    return True
