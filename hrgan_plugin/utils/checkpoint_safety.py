"""Let torch's ``weights_only`` loader open checkpoints written by mmengine.

torch >= 2.6 loads with ``weights_only=True`` by default, and refuses the
numpy arrays and scalars and the :class:`~mmengine.logging.HistoryBuffer`
objects that mmengine's :class:`~mmengine.runner.Runner` stores in a
checkpoint's ``meta`` and ``message_hub`` entries ("Unsupported global:
numpy._core.multiarray._reconstruct").  Rather than turning the safe loader
off, :func:`register_checkpoint_safe_globals` adds exactly these data-only
types to its allow-list, so the stock test, demo and ``--resume`` flows load
our checkpoints while arbitrary pickled code is still rejected.

mmengine also pickles each ``HistoryBuffer``'s statistics functions, which
needs ``builtins.getattr`` on load, and allowing ``getattr`` would let a
checkpoint reach arbitrary attributes.  The built-in statistics (min, max,
current, mean) are re-created on load anyway, so
:func:`register_checkpoint_safe_globals` also makes ``HistoryBuffer`` pickle
only user-registered statistics: checkpoints written by runs that import the
plugin need nothing beyond the allow-list above.
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


_DEFAULT_STATISTICS = ('min', 'max', 'current', 'mean')
_mmengine_setstate = HistoryBuffer.__setstate__


def _history_buffer_getstate(self: HistoryBuffer) -> dict:
    """Pickle a buffer's data and only the statistics a user registered."""
    state = {k: v for k, v in self.__dict__.items() if k != 'statistics_methods'}
    custom = {name: fn for name, fn in self._statistics_methods.items()
              if fn is not getattr(HistoryBuffer, name, None) or name not in _DEFAULT_STATISTICS}
    if custom:
        state['statistics_methods'] = custom
    return state


def _history_buffer_setstate(self: HistoryBuffer, state: dict) -> None:
    _mmengine_setstate(self, dict(state))
    self._set_default_statistics()


def register_checkpoint_safe_globals() -> None:
    """Add :func:`checkpoint_safe_globals` to torch's ``weights_only``
    allow-list and make ``HistoryBuffer`` pickle without functions."""
    HistoryBuffer.__getstate__ = _history_buffer_getstate
    HistoryBuffer.__setstate__ = _history_buffer_setstate
    if hasattr(torch.serialization, 'add_safe_globals'):
        torch.serialization.add_safe_globals(checkpoint_safe_globals())
