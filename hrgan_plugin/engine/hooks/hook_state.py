"""Hook state in checkpoints: one entry per hook instance, restored on
``--resume`` only."""
from __future__ import annotations

from typing import Optional

import torch
from mmengine.utils import apply_to


class CheckpointStateMixin:
    """For hooks that keep state in ``checkpoint['hook_states']``.

    Each instance has its own key: the class name for the first instance of
    its class in ``runner.hooks`` (the key older checkpoints used), then
    ``'<class>#1'``, ``'<class>#2'``, ... for further ones, so two instances
    never overwrite each other. As mmengine's ``EMAHook``, the state is read
    back only when the run resumes (``runner._resume``): ``load_from``
    starts a new run from the weights alone.
    """

    def state_key(self, runner) -> str:
        same = [h for h in runner.hooks if type(h) is type(self)]
        index = next((i for i, h in enumerate(same) if h is self), 0)
        name = type(self).__name__
        return name if index == 0 else f'{name}#{index}'

    def save_state(self, runner, checkpoint: dict, state: dict) -> None:
        """Store ``state`` under this instance's key, every tensor in it
        copied to the CPU (mmengine moves only the model, optimiser and
        message hub there), so that a checkpoint written on a GPU opens with
        a plain ``torch.load`` on a machine without one."""
        checkpoint.setdefault('hook_states', {})[self.state_key(runner)] = apply_to(
            state, torch.is_tensor, lambda t: t.cpu())

    def resumed_state(self, runner, checkpoint: dict) -> Optional[dict]:
        """This instance's saved state when resuming, else None."""
        if not getattr(runner, '_resume', False):
            return None
        return checkpoint.get('hook_states', {}).get(self.state_key(runner))
