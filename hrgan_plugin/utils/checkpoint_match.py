"""Does a checkpoint fit the model its config builds?

mmengine loads checkpoints non-strictly and only logs missing, unexpected or
mis-shaped keys, so a checkpoint of another config runs with random weights.
The inference tools check first and stop with one line instead.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

# Parts of an HRGAN checkpoint that inference never uses: a generator config
# may load an HRGAN checkpoint and vice versa.
GAN_ONLY = ('discriminator.', 'adversarial_loss.', 'k_t')


class CheckpointMismatch(ValueError):
    """The checkpoint's weights do not fit the config's model."""


def checkpoint_state_dict(path: str) -> dict[str, torch.Tensor]:
    """The weights of a runner checkpoint or of a bare state dict, with DDP's
    ``module.`` prefixes removed."""
    ckpt = torch.load(path, map_location='cpu')
    if not isinstance(ckpt, Mapping):
        raise CheckpointMismatch(f"checkpoint '{path}' holds a {type(ckpt).__name__}, "
                                 f'not a state dict')
    state = ckpt.get('state_dict', ckpt)
    return {k.removeprefix('module.'): v for k, v in state.items() if torch.is_tensor(v)}


def check_checkpoint_matches(model_state: Mapping[str, torch.Tensor],
                             ckpt_state: Mapping[str, torch.Tensor], checkpoint: str,
                             config: str, ignore: Sequence[str] = ()) -> None:
    """Raise :class:`CheckpointMismatch` naming both files and the first
    offending keys when keys are missing, unexpected or of another shape.
    Keys starting with one of ``ignore`` are left out on both sides."""
    def kept(state):
        return {k: v for k, v in state.items() if not k.startswith(tuple(ignore))}

    model, ckpt = kept(model_state), kept(ckpt_state)
    missing = [k for k in model if k not in ckpt]
    unexpected = [k for k in ckpt if k not in model]
    shapes = [f'{k} {tuple(ckpt[k].shape)} vs {tuple(model[k].shape)}'
              for k in model if k in ckpt and ckpt[k].shape != model[k].shape]
    problems = [f'{len(keys)} {what} ({", ".join(keys[:3])}{", ..." if len(keys) > 3 else ""})'
                for what, keys in (('missing keys', missing), ('unexpected keys', unexpected),
                                   ('shape mismatches', shapes)) if keys]
    if problems:
        raise CheckpointMismatch(f"checkpoint '{checkpoint}' does not match config "
                                 f"'{config}': {'; '.join(problems)}")
