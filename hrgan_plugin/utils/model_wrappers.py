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


def heatmap_output_layer(head: nn.Module) -> nn.Module:
    """A heatmap head's last layer, which emits the (last stage's) heatmaps.
    Heads compute their loss through ``self.forward``, which bypasses forward
    hooks on the head itself, so predictions are read from this layer."""
    if isinstance(getattr(head, 'final_layer', None), nn.Module):
        return head.final_layer
    if isinstance(getattr(head, 'multi_final_layers', None), nn.ModuleList):
        return head.multi_final_layers[-1]
    raise ValueError(f'AdversarialAugmentationHook supports heatmap heads with `final_layer` '
                     f'or `multi_final_layers`, not {type(head).__name__}')
