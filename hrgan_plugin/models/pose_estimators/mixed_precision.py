"""Backward of ``main + sum_i w_i * term_i`` whose small terms survive AMP.

HRGAN's two updates each add a small term to a large one (HRGAN slides):

- generator: ``L_G = L_MSE + lambda_G * L_adv``; the adversarial share of
  the gradient (``adv_grad_ratio``) is 5e-5 to 1e-2 at lambda_G 1e-2 and 50x
  less at the reference's 2e-4;
- discriminator (BEGAN): ``L_D = L_real - k_t * L_fake``, with ``k_t``
  starting at 0 and moving by about 3e-6 per iteration.

One ``backward`` of the sum adds the terms' gradients wherever their paths
meet, in the dtype of the tensor they meet at. In fp32 that is harmless.
Under autocast (``AmpOptimWrapper``, fp16 or bf16) they meet in half
precision: in G both terms reach the head's half-precision heatmaps ``C^``,
and in D both forwards (real, fake) use the same half-precision copy of each
weight (autocast's weight cache, on in mmengine's ``optim_context``). The
relative precision there (2^-11 for fp16, 2^-8 for bf16) is coarser than the
small term's share, so it is rounded away: measured on the quickstart HRGAN
with CPU bf16, the G gradient of ``lambda_G * L_adv`` (the difference of two
steps) had cosine 0.02 (lambda_G 1e-2) and 0.002 (2e-4) with its fp32 value,
and D's ``k_t * L_fake`` cosine 0.80 at k_t = 0.005: an ``--amp`` HRGAN run
trained as plain HRNet.

:func:`backward_in_parts` backpropagates each small term on its own and
lets the terms meet only in the fp32 ``.grad`` of the parameters:

1. ``g_i = autograd.grad(S * term_i, params)`` with ``S`` the loss scale
   (``loss_scaler.scale``, and ``1/accumulative_counts`` as for the main
   term); the *unweighted* term is backpropagated, so a tiny ``w_i`` cannot
   underflow fp16 (a zero weight skips the pass: ``k_0 = 0``). It needs the
   loss scale that weight 1 would: where fp16 overflows there (D's
   ``L_fake`` from an untrained G), dynamic loss scaling skips the step and
   halves the scale, as it does for any overflow, within a few iterations;
2. ``p.grad += w_i * g_i`` in fp32;
3. the optimiser wrapper's ordinary ``backward`` of ``main``, which
   accumulates into the same ``.grad`` and counts one backward for
   ``accumulative_counts``. The loss scaler then unscales, checks and clips
   the sum as usual.

Why ``torch.autograd.grad`` and not a second ``backward``: under
``MMSeparateDistributedDataParallel`` every child is a DDP module, whose
reducer all-reduces once per forward. A second ``backward`` from the same
forward is not reduced (torch 2.13, two gloo ranks: ``.grad`` ended as the
mean of the first backward plus this rank's own second, so the ranks drift
apart silently; torch < 1.10 raised "Expected to mark a variable ready only
once"). ``autograd.grad`` returns gradients without running the parameters'
``AccumulateGrad`` nodes, where DDP's hooks sit, so nothing is reduced yet.
The ordinary backward then fires each hook once, after accumulating into
``.grad``, and the reducer all-reduces the whole accumulated ``.grad``
(``Reducer::mark_variable_ready_dense`` copies ``variable.grad()`` into its
bucket), as it does for gradients accumulated under ``no_sync``;
tests/test_amp_split_backward.py checks the ranks' mean on two gloo processes.

TF32 (cuDNN's default for fp32 convolutions on Ampere and later GPUs) rounds
a convolution's operands to the same 10-bit mantissa as fp16, so G splits
its backward there too (:func:`rounds_like_half`); D does not need to (no
weight cache in fp32: its real and fake gradients meet only in ``.grad``).

Cost: G's split backpropagates ``L_adv`` through the generator a second time
(one extra backward of G per iteration, under AMP or TF32 only); D's split
costs nothing extra, the real and fake graphs being separate. In IEEE fp32
(the CPU, older GPUs, or ``allow_tf32`` off) callers keep one backward of
the sum.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Union

import torch
from torch import Tensor

HALF_DTYPES = (torch.float16, torch.bfloat16)


def is_half(tensor: Tensor) -> bool:
    """``tensor`` is fp16 or bf16, as network outputs are under autocast."""
    return tensor.dtype in HALF_DTYPES


def rounds_like_half(tensor: Tensor) -> bool:
    """Backpropagation through ``tensor``'s network rounds gradients to a
    10-bit mantissa or coarser: ``tensor`` is fp16 or bf16 (autocast), or
    fp32 on a CUDA GPU of compute capability 8.0 or later (Ampere, Hopper),
    whose convolutions cuDNN runs in TF32 (:func:`tf32_convolutions`,
    PyTorch's default). Measured on an H200 (tools/gpu_check.sh, one backward
    of ``L_MSE + lambda_G L_adv``): G's adversarial gradient under TF32 had
    cosine 0.51 (lambda_G 1e-2) and 0.009 (2e-4) with its IEEE fp32 value."""
    if is_half(tensor):
        return True
    return (tensor.is_cuda and tensor.dtype == torch.float32 and tf32_convolutions()
            and torch.cuda.get_device_capability(tensor.device)[0] >= 8)


def tf32_convolutions() -> bool:
    """cuDNN runs fp32 convolutions in TF32: ``torch.backends.cudnn.conv.
    fp32_precision`` is ``'tf32'`` (torch >= 2.9, its parents' setting
    resolved; reading the legacy ``allow_tf32`` there raises once conv and RNN
    differ), else the legacy ``torch.backends.cudnn.allow_tf32``."""
    if not torch.backends.cudnn.enabled:
        return False
    conv = getattr(torch.backends.cudnn, 'conv', None)
    if conv is not None and hasattr(conv, 'fp32_precision'):
        return conv.fp32_precision == 'tf32'
    return bool(torch.backends.cudnn.allow_tf32)


def backward_in_parts(optim_wrapper, main: Tensor,
                      small_terms: Sequence[tuple[Union[float, Tensor], Tensor]],
                      params: Sequence[Tensor]) -> None:
    """Backward of ``main + sum_i w_i * term_i`` into ``params`` through
    ``optim_wrapper``, the ``(w_i, term_i)`` of ``small_terms`` summed with
    the main term in the parameters' fp32 ``.grad`` (see the module
    docstring). Counts as one backward of ``optim_wrapper``."""
    params = list(params)
    scaler = getattr(optim_wrapper, 'loss_scaler', None)
    for weight, term in small_terms:
        weight = float(weight)
        if weight == 0.0:
            continue
        loss = optim_wrapper.scale_loss(term)
        if scaler is not None:
            loss = scaler.scale(loss)
        grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
        with torch.no_grad():
            for param, grad in zip(params, grads):
                if grad is None:
                    continue
                if param.grad is None:  # strides as AccumulateGrad (and DDP's buckets) expect
                    param.grad = torch.zeros_like(param)
                param.grad.add_(grad.to(param.dtype), alpha=weight)
    optim_wrapper.backward(optim_wrapper.scale_loss(main), inputs=params)
