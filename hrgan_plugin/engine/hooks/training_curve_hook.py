"""Plot logged training scalars (losses, k_t, ...) to a PNG in the work dir."""
from __future__ import annotations

import os.path as osp
from collections.abc import Sequence
from typing import Optional

from mmengine.dist import master_only
from mmengine.hooks import Hook
from mmpose.registry import HOOKS

from ...visualization import plot_curves
from .hook_state import CheckpointStateMixin


@HOOKS.register_module()
class TrainingCurveHook(CheckpointStateMixin, Hook):
    """Record scalars from the runner's message hub and plot them.

    Every ``interval`` iterations the current value of each key in ``keys``
    (as logged under ``train/<key>``) is recorded; after every validation and
    at the end of training one subplot per key is written to
    ``<work_dir>/<out_file>``.  The recorded history is stored in checkpoints
    (one entry per instance), so a resumed run keeps its curves; a run started
    with ``load_from`` starts new ones.

    Args:
        keys (Sequence[str]): scalar names, e.g. ``('loss', 'loss_kpt')``.
            Keys that were never logged are left out of the plot.
            Defaults to ``('loss',)``.
        interval (int): record every ``interval`` iterations. Defaults to 10.
        out_file (str): PNG file name inside the work dir.
            Defaults to ``'loss_curve.png'``.
    """

    priority = 'LOW'  # after the models' own hooks have logged this iteration

    def __init__(self, keys: Sequence[str] = ('loss', ), interval: int = 10,
                 out_file: str = 'loss_curve.png') -> None:
        if interval < 1:
            raise ValueError(f'TrainingCurveHook: interval must be >= 1, got {interval}')
        self.keys = tuple(keys)
        self.interval = interval
        self.out_file = out_file
        self.history: dict[str, list[tuple[int, float]]] = {k: [] for k in self.keys}
        self._pending: dict[str, float] = {}  # output values not recorded yet
        self._from_outputs: set[str] = set()  # keys seen in the step's outputs

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        # keys of the step's outputs are taken from there, so one logged on
        # some iterations only (adv_grad_ratio) is recorded once per value,
        # not repeated until the next; others (k_t) from the message hub
        for key in self.keys:
            if outputs and key in outputs:
                self._from_outputs.add(key)
                self._pending[key] = float(outputs[key])
        if not self.every_n_train_iters(runner, self.interval):
            return
        scalars = runner.message_hub.log_scalars
        for key in self.keys:
            buf = scalars.get(f'train/{key}')
            if key in self._pending:
                value = self._pending.pop(key)
            elif key in self._from_outputs or buf is None:
                continue
            else:
                value = float(buf.current())
            self.history[key].append((runner.iter + 1, value))

    def after_val_epoch(self, runner, metrics=None) -> None:
        self.plot(osp.join(runner.work_dir, self.out_file))

    def after_train(self, runner) -> None:
        self.plot(osp.join(runner.work_dir, self.out_file))

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        self.save_state(runner, checkpoint,
                        dict(history={k: list(v) for k, v in self.history.items()},
                             from_outputs=sorted(self._from_outputs),
                             pending=dict(self._pending)))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = self.resumed_state(runner, checkpoint)
        if state:
            for key, values in state['history'].items():
                self.history[key] = [tuple(v) for v in values]
            self._from_outputs = set(state.get('from_outputs', ()))
            self._pending = dict(state.get('pending', {}))

    @master_only
    def plot(self, path: str) -> None:
        """Write one subplot per recorded key to ``path``."""
        plot_curves(self.history, self.keys, path)
