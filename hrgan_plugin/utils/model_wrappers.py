"""The module inside a DDP-style wrapper."""
from __future__ import annotations

import torch.nn as nn
from mmengine.model import is_model_wrapper


def unwrap_model(module: nn.Module) -> nn.Module:
    """``module.module`` for mmengine/torch model wrappers, else ``module``."""
    return module.module if is_model_wrapper(module) else module
