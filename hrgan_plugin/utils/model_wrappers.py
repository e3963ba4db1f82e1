"""Reaching modules inside DDP-style wrappers."""
from __future__ import annotations

import torch.nn as nn
from mmengine.model import is_model_wrapper


def unwrap_model(module: nn.Module) -> nn.Module:
    """``module.module`` for mmengine/torch model wrappers, else ``module``."""
    return module.module if is_model_wrapper(module) else module


def resolve_module(model: nn.Module, name: str) -> nn.Module:
    """``model.get_submodule(name)`` looking through DDP wrappers."""
    module = unwrap_model(model)
    for part in name.split('.'):
        if not hasattr(module, part) and not (isinstance(module, (nn.ModuleList, nn.Sequential))
                                              and part.isdigit()):
            raise KeyError(f'the model has no module {name!r}')
        module = unwrap_model(module[int(part)] if part.isdigit() and isinstance(
            module, (nn.ModuleList, nn.Sequential)) else getattr(module, part))
    return module

