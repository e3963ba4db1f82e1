"""One optimiser wrapper for the generator, one for the discriminator."""
from __future__ import annotations

import copy
from typing import Optional

import torch.nn as nn
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict
from mmpose.registry import OPTIM_WRAPPER_CONSTRUCTORS

from ...utils.model_wrappers import unwrap_model


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class GANOptimWrapperConstructor:
    """Build ``OptimWrapperDict(generator=..., discriminator=...)``.

    The discriminator wrapper covers ``model.discriminator``; the generator
    wrapper every other child (backbone, neck, head), under their usual names
    so ``paramwise_cfg`` keys such as ``'backbone'`` work.  Each entry is a
    normal ``optim_wrapper`` config (``type``, ``optimizer``,
    ``paramwise_cfg``, ``clip_grad``; ``AmpOptimWrapper`` for AMP)::

        optim_wrapper = dict(
            constructor='GANOptimWrapperConstructor',
            generator=dict(optimizer=dict(type='Adam', lr=5e-4)),
            discriminator=dict(optimizer=dict(type='Adam', lr=8e-5)))

    Top-level wrapper keys (``SHARED_KEYS``) apply to both entries and take
    precedence over theirs: ``tools/train.py --amp`` (mmpose's switch) sets
    ``optim_wrapper.type='AmpOptimWrapper'`` and ``loss_scale='dynamic'``,
    which turns on mixed precision for both networks. Any other top-level key
    (e.g. an ``optimizer`` inherited from a single-network base config) is an
    error rather than a silent override of both learning rates.

    A list ``param_scheduler`` applies to both optimisers; a dict with keys
    ``generator``/``discriminator`` sets them separately (mmengine's runner).

    Args:
        optim_wrapper_cfg (dict): with keys ``generator`` and ``discriminator``,
            plus optional keys shared by both.
        paramwise_cfg (dict, optional): must be None; give it per entry.
    """

    KEYS = ('generator', 'discriminator')
    SHARED_KEYS = ('type', 'loss_scale', 'dtype', 'clip_grad', 'accumulative_counts')

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None) -> None:
        if paramwise_cfg is not None:
            raise ValueError('GANOptimWrapperConstructor: give paramwise_cfg inside '
                             '`generator`/`discriminator`, not at the top level')
        missing = [k for k in self.KEYS if k not in optim_wrapper_cfg]
        extra = [k for k in optim_wrapper_cfg if k not in self.KEYS + self.SHARED_KEYS]
        if missing or extra:
            raise ValueError(f'GANOptimWrapperConstructor: optim_wrapper needs the keys '
                             f'{self.KEYS} (and may share {self.SHARED_KEYS}); missing '
                             f'{missing}, unexpected {extra}')
        self.optim_wrapper_cfg = copy.deepcopy(optim_wrapper_cfg)

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        model = unwrap_model(model)
        if not isinstance(getattr(model, 'discriminator', None), nn.Module):
            raise TypeError(f'GANOptimWrapperConstructor needs a model with a `discriminator` '
                            f'child, got {type(model).__name__}')
        parts = dict(
            generator=nn.ModuleDict({n: m for n, m in model.named_children()
                                     if n != 'discriminator'}),
            discriminator=model.discriminator)
        shared = {k: v for k, v in self.optim_wrapper_cfg.items() if k not in self.KEYS}
        wrappers = {}
        for key in self.KEYS:
            cfg = copy.deepcopy({**self.optim_wrapper_cfg[key], **shared})
            paramwise = cfg.pop('paramwise_cfg', None)
            wrappers[key] = DefaultOptimWrapperConstructor(cfg, paramwise)(parts[key])
        return OptimWrapperDict(**wrappers)
