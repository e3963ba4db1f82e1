"""Checkpoints that torch's ``weights_only`` loader opens.

torch >= 2.6 loads with ``weights_only=True`` by default and refuses the numpy
arrays and scalars and the :class:`~mmengine.logging.HistoryBuffer` objects
(with their pickled statistics functions) that mmengine's
:class:`~mmengine.runner.Runner` stores in a checkpoint's ``meta`` and
``message_hub`` ("Unsupported global: numpy._core.multiarray._reconstruct").

New checkpoints: :class:`~hrgan_plugin.engine.hooks.SafeCheckpointHook`
writes them with :func:`to_weights_only` (numpy -> Python lists and scalars,
history buffers -> tagged dicts of tensors), so a plain ``torch.load(path)``
opens them in any process, and turns the buffers back with
:func:`restore_history_buffers` on ``--resume``.

Older checkpoints (written by earlier versions of this plugin) still hold
numpy objects and history buffers: :func:`register_checkpoint_safe_globals`,
called when the plugin is imported, adds exactly the data-only types they need
(:func:`checkpoint_safe_globals`) to torch's allow-list, and nothing that
can run code.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

# numpy >= 2 moved the pickling helpers from ``numpy.core`` to ``numpy._core``.
_np_multiarray = getattr(np, '_core', np.core).multiarray
_NUMPY_DTYPES = (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
                 np.uint32, np.uint64, np.float16, np.float32, np.float64, np.str_)
HISTORY_BUFFER_TAG = '__history_buffer__'


def checkpoint_safe_globals() -> list:
    """The types older checkpoints need beyond torch's defaults: numpy array
    reconstruction, numpy scalar and dtype classes, and ``HistoryBuffer``."""
    dtype_classes = [type(np.dtype(t)) for t in _NUMPY_DTYPES]
    return [_np_multiarray._reconstruct, _np_multiarray.scalar, np.ndarray, np.dtype,
            *_NUMPY_DTYPES, *dtype_classes, HistoryBuffer]


def register_checkpoint_safe_globals() -> None:
    """Add :func:`checkpoint_safe_globals` to torch's ``weights_only``
    allow-list (to read checkpoints written before checkpoints were made
    safe-loadable)."""
    if hasattr(torch.serialization, 'add_safe_globals'):
        torch.serialization.add_safe_globals(checkpoint_safe_globals())


def to_weights_only(obj: Any) -> Any:
    """``obj`` with numpy arrays as (nested) lists, numpy scalars as Python
    scalars and each ``HistoryBuffer`` as ``{HISTORY_BUFFER_TAG: True,
    'log': float64 tensor, 'count': float64 tensor, 'max_length': int}``;
    tensors and other allow-listed values unchanged."""
    if isinstance(obj, HistoryBuffer):
        log, count = obj.data
        return {HISTORY_BUFFER_TAG: True, 'log': torch.from_numpy(np.array(log, np.float64)),
                'count': torch.from_numpy(np.array(count, np.float64)),
                'max_length': int(obj.max_length)}
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return type(obj)((k, to_weights_only(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)) and not hasattr(obj, '_fields'):
        return type(obj)(to_weights_only(v) for v in obj)
    return obj


def restore_history_buffers(obj: Any) -> Any:
    """Inverse of :func:`to_weights_only` for history buffers. Their tensors
    may be on a GPU (``Runner.resume`` loads with a CUDA ``map_location`` on
    a GPU host): they are copied to the CPU first."""
    if isinstance(obj, dict):
        if obj.get(HISTORY_BUFFER_TAG):
            return HistoryBuffer(obj['log'].cpu().numpy(), obj['count'].cpu().numpy(),
                                 obj['max_length'])
        return type(obj)((k, restore_history_buffers(v)) for k, v in obj.items())
    return obj
