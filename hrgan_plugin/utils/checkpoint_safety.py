"""Let torch's ``weights_only`` loader open checkpoints written by mmengine.

torch >= 2.6 loads with ``weights_only=True`` by default, and refuses the
numpy arrays and scalars and the :class:`~mmengine.logging.HistoryBuffer`
objects that mmengine's :class:`~mmengine.runner.Runner` stores in a
checkpoint's ``meta`` and ``message_hub`` entries ("Unsupported global:
numpy._core.multiarray._reconstruct").  Rather than turning the safe loader
off, :func:`register_checkpoint_safe_globals` adds exactly these data-only
types to its allow-list, so the stock test, demo and ``--resume`` flows load
our checkpoints while arbitrary pickled code is still rejected.
"""
from __future__ import annotations

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

# numpy >= 2 moved the pickling helpers from ``numpy.core`` to ``numpy._core``.
_np_multiarray = getattr(np, '_core', np.core).multiarray
_NUMPY_DTYPES = (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
                 np.uint32, np.uint64, np.float16, np.float32, np.float64, np.str_)


def checkpoint_safe_globals() -> list:
    """The types allowed in addition to torch's defaults."""
    dtype_classes = [type(np.dtype(t)) for t in _NUMPY_DTYPES]
    return [_np_multiarray._reconstruct, _np_multiarray.scalar, np.ndarray, np.dtype,
            *_NUMPY_DTYPES, *dtype_classes, HistoryBuffer]


def register_checkpoint_safe_globals() -> None:
    """Add :func:`checkpoint_safe_globals` to torch's ``weights_only`` allow-list."""
    if hasattr(torch.serialization, 'add_safe_globals'):
        torch.serialization.add_safe_globals(checkpoint_safe_globals())
