"""Reaching modules inside DDP-style wrappers, and the state-dict keys of
models whose children are wrapped one by one."""
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



def wrapper_free_state_dict(module: nn.Module, state_dict: dict, prefix: str,
                            local_metadata: dict) -> None:
    """A state-dict hook of a model whose children may each sit in a
    DDP-style wrapper (``MMSeparateDistributedDataParallel``): their keys
    lose the wrapper's ``module.``. A checkpoint of a multi-process run then
    has the keys of a one-process one, which mmengine's loader (it looks
    through nested wrappers) and every one-process tool read."""
    wrapped = [f'{prefix}{name}.module.' for name, child in module._modules.items()
               if is_model_wrapper(child)]
    if not wrapped:
        return
    items = list(state_dict.items())
    state_dict.clear()
    for key, value in items:
        head = next((w for w in wrapped if key.startswith(w)), None)
        state_dict[key if head is None else head[:-len('module.')] + key[len(head):]] = value


def read_wrapped_keys(module: nn.Module, state_dict: dict, prefix: str, *args) -> None:
    """A load-state-dict pre-hook: keys written with a child wrapper's
    ``module.`` (``CHILD.module.KEY``, as multi-process checkpoints had them
    before :func:`wrapper_free_state_dict`) are read as ``CHILD.KEY``."""
    for name in module._modules:
        old = f'{prefix}{name}.module.'
        for key in [k for k in state_dict if k.startswith(old)]:
            state_dict[f'{prefix}{name}.{key[len(old):]}'] = state_dict.pop(key)
