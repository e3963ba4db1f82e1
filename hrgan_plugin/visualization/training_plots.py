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


def plot_learned_distributions(per_arm: dict[str, dict[str, np.ndarray]], grid: Sequence[int],
                               path: str) -> None:
    """The augmentation distributions of several arms side by side (Peng et
    al., Fig. 5): a row per arm; scale and rotation bars, occlusion as a
    ``grid`` heat map. ``per_arm[arm][name]`` holds the probabilities."""
    arms = list(per_arm)
    fig = _figure(10, 2.4 * len(arms))
    gw, gh = grid
    for row, arm in enumerate(arms):
        dists = per_arm[arm]
        for col, key in enumerate(DISTRIBUTIONS):
            ax = fig.add_subplot(len(arms), 3, 3 * row + col + 1)
            p = np.asarray(dists[key])
            if key == 'occlusion':
                im = ax.imshow(p.reshape(gh, gw), cmap='viridis', vmin=0)
                fig.colorbar(im, ax=ax)
                ax.set_xticks([])
                ax.set_yticks([])
            else:
                ax.bar(range(len(p)), p, color='tab:blue')
                ax.axhline(1 / len(p), color='grey', linewidth=0.8, linestyle='--')
                ax.set_xticks(range(len(p)))
            ax.set_title(f'{arm}: {key}', fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
