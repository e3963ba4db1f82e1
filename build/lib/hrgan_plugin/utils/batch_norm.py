"""BatchNorm helpers."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm


@contextmanager
def frozen_bn_statistics(model: nn.Module) -> Iterator[None]:
    """Run BN layers on batch statistics without updating running ones."""
    saved = []
    for m in model.modules():
        if isinstance(m, _BatchNorm) and m.track_running_stats:
            saved.append((m, m.momentum, m.num_batches_tracked.clone()))
            m.momentum = 0.0
    try:
        yield
    finally:
        for m, momentum, tracked in saved:
            m.momentum = momentum
            m.num_batches_tracked.copy_(tracked)
