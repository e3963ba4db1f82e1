"""Does a checkpoint fit the model its config builds?

mmengine loads checkpoints non-strictly and only logs missing, unexpected or
mis-shaped keys, so a checkpoint of another config runs with random weights.
The inference tools (``tools/demo.py``, ``tools/export_onnx.py``) check first
and stop with one line instead.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

# Parts of an HRGAN checkpoint that inference never uses: a generator config
# may load an HRGAN checkpoint and vice versa.
GAN_ONLY = ('discriminator.', 'adversarial_loss.', 'k_t')
LISTED_KEYS = 3  # key names quoted per kind of problem


class CheckpointError(ValueError):
    """The checkpoint cannot be read, or its weights do not fit the model."""


def read_checkpoint(path: str) -> tuple[dict[str, torch.Tensor], dict]:
    """The weights (DDP's ``module.`` prefixes removed, as mmengine reads them)
    and the ``meta`` of a runner checkpoint or of a bare state dict."""
    try:
        ckpt = torch.load(path, map_location='cpu')
    except Exception as err:  # a corrupt file fails with many error types
        first_line = (str(err).splitlines() or [''])[0]
        raise CheckpointError(f"checkpoint '{path}' cannot be read by torch.load: "
                              f'{type(err).__name__}: {first_line}') from err
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, Mapping) else None
    if not isinstance(state, Mapping):
        raise CheckpointError(f"checkpoint '{path}' holds no state dict")
    weights = {_one_process_key(k): v for k, v in state.items() if torch.is_tensor(v)}
    return weights, dict(ckpt.get('meta') or {})


def _one_process_key(key: str) -> str:
    """A key without DDP's ``module.``: in front (the whole model wrapped)
    or after the first name (each child wrapped, as multi-process HRGAN
    checkpoints were written before their keys were made wrapper-free)."""
    key = key.removeprefix('module.')
    child, _, rest = key.partition('.')
    return f'{child}.{rest.removeprefix("module.")}' if rest.startswith('module.') else key


def without(state: Mapping[str, torch.Tensor], prefixes: Sequence[str]) -> dict:
    """``state`` less the keys that start with one of ``prefixes``."""
    return {k: v for k, v in state.items() if not k.startswith(tuple(prefixes))}


def check_checkpoint_matches(model_state: Mapping[str, torch.Tensor],
                             ckpt_state: Mapping[str, torch.Tensor], checkpoint: str,
                             config: str, ignore: Sequence[str] = ()) -> None:
    """Raise :class:`CheckpointError` naming both files and the first
    offending keys when keys are missing, unexpected or of another shape.
    Keys starting with one of ``ignore`` are left out on both sides."""
    model, ckpt = without(model_state, ignore), without(ckpt_state, ignore)
    missing = [k for k in model if k not in ckpt]
    unexpected = [k for k in ckpt if k not in model]
    shapes = [f'{k} {tuple(ckpt[k].shape)} vs {tuple(model[k].shape)}'
              for k in model if k in ckpt and ckpt[k].shape != model[k].shape]
    problems = [f'{len(keys)} {what} ({", ".join(keys[:LISTED_KEYS])}'
                f'{", ..." if len(keys) > LISTED_KEYS else ""})'
                for what, keys in (('missing keys', missing), ('unexpected keys', unexpected),
                                   ('shape mismatches (checkpoint vs model)', shapes)) if keys]
    if problems:
        raise CheckpointError(f"checkpoint '{checkpoint}' does not match config "
                              f"'{config}': {'; '.join(problems)}")


def load_matching_weights(model: torch.nn.Module, checkpoint: str, config: str,
                          ignore: Sequence[str] = ()) -> dict:
    """Check ``checkpoint`` against ``model`` (built from ``config``), then load
    its weights, less the ``ignore`` prefixes; returns the checkpoint's meta."""
    state, meta = read_checkpoint(checkpoint)
    check_checkpoint_matches(model.state_dict(), state, checkpoint, config, ignore)
    model.load_state_dict(without(state, ignore), strict=False)  # checked just above
    return meta
