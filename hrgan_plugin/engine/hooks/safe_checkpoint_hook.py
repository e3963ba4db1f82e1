"""mmengine's CheckpointHook with checkpoints that are safe to rely on."""
from __future__ import annotations

import glob
import os
import os.path as osp
import pickle
import re
from typing import Optional

import torch
from mmengine.dist import barrier, is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.runner import BaseLoop
from mmpose.registry import HOOKS

from ...utils.atomic_file_backend import AtomicLocalBackend
from ...utils.checkpoint_safety import restore_history_buffers, to_weights_only
from ...utils.errors import TrainingAborted


class NonFiniteWeightsError(TrainingAborted):
    """The model's weights hold NaN or infinite values; no checkpoint is written."""


def first_non_finite(state_dict: dict) -> Optional[str]:
    """Name of the first floating-point entry of ``state_dict`` that is not
    all finite, or None."""
    for name, value in state_dict.items():
        if torch.is_tensor(value) and value.is_floating_point() and \
                not bool(torch.isfinite(value).all()):
            return name
    return None


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """:class:`~mmengine.hooks.CheckpointHook` (same arguments) whose
    checkpoints

    - are written atomically (``backend_args`` defaults to the
      ``atomic_local`` file backend: temporary name, fsync, rename), so a
      process killed during a save leaves the previous checkpoint and
      ``last_checkpoint`` intact and ``--resume`` continues from them; when
      training restarts, a killed save's hidden temporary file is removed and
      a ``last_checkpoint`` cut by a kill (mmengine writes it in place) is
      pointed at the newest checkpoint (by rank 0, while the other ranks wait
      at a barrier);
    - are never written with non-finite weights: the save raises
      :class:`NonFiniteWeightsError` naming the first bad tensor, and the
      newest checkpoint on disk stays the last good one;
    - open with a plain ``torch.load(path)`` (torch's ``weights_only``
      default) in any process: numpy values and mmengine's history buffers
      in ``meta``, ``message_hub`` and hook states are stored as lists,
      scalars and tensors (:func:`~hrgan_plugin.utils.to_weights_only`) and
      turned back on load.

    It runs after every other hook's ``before_save_checkpoint`` (priority
    VERY_LOW, as CheckpointHook), so hook states are converted too.
    """

    def __init__(self, *args, backend_args: Optional[dict] = None, **kwargs) -> None:
        if backend_args is None and kwargs.get('file_client_args') is None:
            backend_args = dict(backend='atomic_local')
        super().__init__(*args, backend_args=backend_args, **kwargs)

    def before_run(self, runner) -> None:
        """Before ``--resume`` reads ``last_checkpoint``: clear what a killed
        process left behind in the work dir (rank 0), then wait for it on
        every rank, so that no rank reads a ``last_checkpoint`` that rank 0
        is still repairing."""
        if self.backend_args != dict(backend='atomic_local') or self.out_dir is not None:
            return
        if is_main_process():
            self._repair_work_dir(runner.work_dir)
        barrier()

    @staticmethod
    def _repair_work_dir(work_dir: str) -> None:
        """Remove unfinished atomic saves; point a cut ``last_checkpoint`` at
        the newest checkpoint (or remove it when there is none)."""
        for path in glob.glob(osp.join(glob.escape(work_dir), '.*.tmp')):
            os.unlink(path)  # an unfinished atomic save
        # mmengine writes last_checkpoint in place: a kill inside that write
        # leaves it empty or cut; point it at the newest checkpoint instead
        last = osp.join(work_dir, 'last_checkpoint')
        if not osp.isfile(last):
            return
        with open(last) as f:
            named = f.read().strip()
        if named and osp.isfile(named):
            return
        saved = glob.glob(osp.join(glob.escape(work_dir), '*_*.pth'))
        numbered = [(int(m.group(1)), p) for p in saved
                    if (m := re.fullmatch(r'(?:epoch|iter)_(\d+)\.pth', osp.basename(p)))]
        if numbered:
            AtomicLocalBackend().put_text(max(numbered)[1], last)
        else:
            os.unlink(last)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        bad = first_non_finite(checkpoint['state_dict'])
        if bad is not None:
            raise NonFiniteWeightsError(
                f'iteration {runner.iter}: weight {bad!r} is not finite; no checkpoint written '
                f'(the last good one stays in {runner.work_dir})')
        for key in [k for k in checkpoint if k != 'state_dict']:
            checkpoint[key] = to_weights_only(checkpoint[key])

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if 'message_hub' in checkpoint:
            checkpoint['message_hub'] = restore_history_buffers(checkpoint['message_hub'])
        # dataset metainfo was stored with lists for numpy arrays: give the
        # runner's own back where they agree, so resume compares them equal
        loop = getattr(runner, '_train_loop', None)  # built before a resume; not when testing
        current = getattr(loop.dataloader.dataset, 'metainfo', None) if isinstance(
            loop, BaseLoop) else None
        if current is None:
            return
        plain = to_weights_only(current)
        for holder in (checkpoint.get('meta', {}),
                       checkpoint.get('message_hub', {}).get('runtime_info', {})):
            stored = holder.get('dataset_meta')
            if stored is not None and pickle.dumps(stored) == pickle.dumps(plain):
                holder['dataset_meta'] = current
