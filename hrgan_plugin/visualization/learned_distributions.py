"""The augmentation distributions an experiment's arms learned (Peng et al.,
Fig. 5), on axes in their units: content scale factor ``2^e``, rotation in
degrees, occlusion over the feature grid's cells."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: the distributions each part of AdversarialAugmentationHook's split learns
ASR_DISTRIBUTIONS = ('scale', 'rotation')
AHO_DISTRIBUTIONS = ('occlusion', )
STATE_STYLES = (('o', ':'), ('s', '--'), ('D', '-'))


def distributions_used(split: Sequence[float]) -> tuple:
    """The distributions a hook with ``split`` (random, ASR, AHO) learns."""
    return (ASR_DISTRIBUTIONS if split[1] > 0 else ()) + (
        AHO_DISTRIBUTIONS if split[2] > 0 else ())


def plot_learned_distributions(per_arm: dict, used: dict, centres: dict,
                               grid: Sequence[int], path: str) -> None:
    """A row per arm and a panel per distribution it uses.

    Args:
        per_arm (dict): ``{arm: {state: {name: probabilities}}}``, states in
            training order (for example initial, after agent pre-training,
            end).
        used (dict): ``{arm: names}`` of the distributions each arm learns.
        centres (dict): bin centres in units, ``scale`` (factor 2^e) and
            ``rotation`` (degrees).
        grid (Sequence[int]): occlusion grid ``(w, h)``.
        path (str): the PNG to write.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    arms = [a for a in per_arm if used.get(a)]
    states = list(dict.fromkeys(s for a in arms for s in per_arm[a]))
    width = 3 + 1.2 * len(states)
    fig = Figure(figsize=(2 * 3.0 + width, 2.3 * len(arms) + 0.6), layout='constrained')
    FigureCanvasAgg(fig)
    rows = fig.subfigures(len(arms), 1, squeeze=False)[:, 0]
    gw, gh = grid
    for sub, arm in zip(rows, arms):
        # a fixed slot per distribution, so the rows line up; unused ones stay empty
        slots = sub.subfigures(1, 3, width_ratios=[3.0, 3.0, width], squeeze=False)[0]
        # the row's title at its left edge: a centred one would sit over an
        # unrelated slot when the arm learns only some of the distributions
        sub.suptitle(f'{arm} (learns: {", ".join(used[arm])})', x=0.005, ha='left',
                     fontsize=9, fontweight='bold')
        for panel, name in zip(slots, ('scale', 'rotation', 'occlusion')):
            if name not in used[arm]:
                continue
            by_state = {s: np.asarray(d[name]) for s, d in per_arm[arm].items()}
            if name == 'occlusion':
                axes = panel.subplots(1, len(by_state), squeeze=False)[0]
                top = max(float(p.max()) for p in by_state.values())
                for ax, (state, p) in zip(axes, by_state.items()):
                    im = ax.imshow(p.reshape(gh, gw), cmap='viridis', vmin=0, vmax=top)
                    ax.set_xticks(range(gw))
                    ax.set_yticks(range(gh))
                    ax.tick_params(labelsize=6)
                    ax.set_title(state, fontsize=7)
                panel.colorbar(im, ax=list(axes), shrink=0.8).ax.tick_params(labelsize=6)
                panel.suptitle('occlusion: probability per grid cell', fontsize=8)
                continue
            ax = panel.subplots()
            x = np.asarray(centres[name], dtype=float)
            for (state, p), (marker, ls) in zip(by_state.items(), STATE_STYLES):
                ax.plot(x, p, marker=marker, ls=ls, lw=1, markersize=3, label=state)
            ax.axhline(1 / len(x), color='grey', lw=0.8, ls='--')
            if name == 'scale':
                ax.set_xscale('log', base=2)
                ax.set_xticks(x[::2], [f'{v:.2f}' for v in x[::2]])
                ax.minorticks_off()
                ax.set_xlabel('content scale factor (2^e)', fontsize=7)
            else:
                ax.set_xticks(x[::2], [f'{v:.0f}' for v in x[::2]])
                ax.set_xlabel('rotation (degrees)', fontsize=7)
            ax.tick_params(labelsize=6)
            ax.set_title(f'{name} (uniform: dashed)', fontsize=8)
            ax.legend(fontsize=6)
    fig.savefig(path, dpi=110)
