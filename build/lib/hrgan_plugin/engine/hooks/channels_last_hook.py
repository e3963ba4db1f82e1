"""Channels-last (NHWC) activations for the networks' convolutions."""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmpose.registry import HOOKS

from ...utils.model_wrappers import unwrap_model


def _channels_last_inputs(module: nn.Module, args: tuple) -> tuple:
    return tuple(a.contiguous(memory_format=torch.channels_last)
                 if torch.is_tensor(a) and a.dim() == 4 else a for a in args)


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Feed the backbone (and HRGAN's discriminator) channels-last batches.

    Tensor cores run convolutions in NHWC; with NCHW activations cuDNN
    transposes around every convolution. A convolution whose input is
    channels-last returns channels-last, so converting the batches where they
    enter the networks keeps every activation, and its gradient, in NHWC.

    The weights keep their NCHW layout (cuDNN converts them per call, a small
    cost next to the activations): mmengine wraps the model in DDP before any
    hook runs, and DDP lays out its gradient buckets in the parameters'
    layout at construction. Converting the parameters afterwards, PyTorch
    only warns of a stride mismatch, but measured with 2 gloo ranks the first
    iteration's averaged gradients then differed from a 1-process run by
    0.8 % (relative norm; the later iterations, after DDP re-buckets, agreed
    to 1e-6). Results equal NCHW ones up to float rounding.

    Args:
        devices (Sequence[str]): device types on which to apply it; CPU kernels
            gain little from NHWC. Defaults to ``('cuda',)``.
    """

    def __init__(self, devices: Sequence[str] = ('cuda', )) -> None:
        self.devices = tuple(devices)
        self.applied = False

    def before_train(self, runner) -> None:
        self._apply(runner.model)

    def before_val(self, runner) -> None:
        self._apply(runner.model)

    def before_test(self, runner) -> None:
        self._apply(runner.model)

    def _apply(self, wrapped: nn.Module) -> None:
        model = unwrap_model(wrapped)
        if self.applied or next(model.parameters()).device.type not in self.devices:
            return
        for name in ('backbone', 'discriminator'):
            if isinstance(getattr(model, name, None), nn.Module):
                unwrap_model(getattr(model, name)).register_forward_pre_hook(_channels_last_inputs)
        self.applied = True
