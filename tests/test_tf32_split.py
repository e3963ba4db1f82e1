"""HRGAN's generator step under TF32: cuDNN runs fp32 convolutions in TF32
on CUDA GPUs of compute capability >= 8 (PyTorch's default), rounding their
operands to fp16's 10-bit mantissa, so ``lambda_G L_adv`` is backpropagated
on its own there as under AMP (``mixed_precision.rounds_like_half``; an H200
measured the adversarial gradient of one backward under TF32 at cosine 0.51
with its IEEE fp32 value at lambda_G 1e-2). The decision is checked on
emulated CUDA tensors, and the split step in fp32 (a plain OptimWrapper, no
loss scaler) against one backward."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator
from unittest import mock

import pytest
import torch
from gpu_emulation import to_fake_cuda
from utils import gan_optim, tiny_gan_batch, tiny_hrgan

from hrgan_plugin.models.pose_estimators import adversarial_topdown
from hrgan_plugin.models.pose_estimators.mixed_precision import rounds_like_half

PRECISIONS = (torch.backends, torch.backends.cudnn, torch.backends.cudnn.conv,
              torch.backends.cudnn.rnn)  # torch's fp32_precision settings, global to leaves


@contextmanager
def cuda_gpu(capability: tuple[int, int], allow_tf32: bool = True,
             **precision: str) -> Iterator[None]:
    """A CUDA GPU of ``capability`` with cuDNN's legacy ``allow_tf32`` as
    given, then the ``fp32_precision`` of ``precision``'s keys (``conv``,
    ``rnn``, ``cudnn``, ``backends``) set with torch's newer API."""
    saved = [s.fp32_precision for s in PRECISIONS]
    torch.backends.cudnn.allow_tf32 = allow_tf32
    for key, value in precision.items():
        target = torch.backends if key == 'backends' else (
            torch.backends.cudnn if key == 'cudnn' else getattr(torch.backends.cudnn, key))
        target.fp32_precision = value
    try:
        with mock.patch.object(torch.cuda, 'get_device_capability', return_value=capability):
            yield
    finally:
        for setting, value in zip(PRECISIONS, saved):
            setting.fp32_precision = value


@pytest.mark.parametrize('capability, allow_tf32, splits', [
    ((9, 0), True, True),    # H100/H200 at PyTorch's default
    ((8, 0), True, True),    # A100
    ((8, 0), False, False),  # TF32 switched off: IEEE fp32
    ((7, 0), True, False),   # V100: no TF32
])
def test_fp32_heatmaps_split_on_gpus_that_round_to_tf32(capability, allow_tf32, splits):
    heatmaps = to_fake_cuda(torch.zeros(2, 4, 16, 16))
    with cuda_gpu(capability, allow_tf32):
        assert rounds_like_half(heatmaps) is splits
        assert rounds_like_half(heatmaps.half())  # AMP always splits
        assert not rounds_like_half(torch.zeros(2, 4, 16, 16))  # the CPU: IEEE fp32


@pytest.mark.parametrize('precision, splits', [
    (dict(conv='ieee', rnn='tf32'), False),  # conv and RNN differ: allow_tf32 would raise
    (dict(conv='tf32', rnn='ieee'), True),
    (dict(conv='none', cudnn='none', backends='ieee'), False),  # conv follows the global
    (dict(conv='none', cudnn='tf32'), True),
])
def test_tf32_is_read_from_the_newer_precision_settings(precision, splits):
    heatmaps = to_fake_cuda(torch.zeros(2, 4, 16, 16))
    with cuda_gpu((9, 0), **precision):
        assert rounds_like_half(heatmaps) is splits


def test_split_generator_step_in_fp32_equals_one_backward():
    """The split G step through a plain OptimWrapper (no loss scaler): the
    same generator gradient as one backward of ``L_MSE + lambda_G L_adv`` to
    fp32 rounding, one split (G's; D keeps its one backward in fp32) and one
    counted backward per wrapper."""
    model, batch = tiny_hrgan(lambda_g=1e-2), tiny_gan_batch()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    grads, splits, counts = {}, {}, {}
    split = mock.Mock(wraps=adversarial_topdown.backward_in_parts)
    for tf32 in (False, True):
        model.load_state_dict(state)
        optim = gan_optim(model, 0.0, 0.0)
        g_params = [p for g in optim['generator'].optimizer.param_groups for p in g['params']]

        def capture(optimizer, args, kwargs, tf32=tf32, params=g_params):
            grads[tf32] = torch.cat([p.grad.flatten() for p in params if p.grad is not None])
        optim['generator'].optimizer.register_step_pre_hook(capture)
        split.reset_mock()
        with mock.patch.object(adversarial_topdown, 'rounds_like_half', return_value=tf32), \
                mock.patch.object(adversarial_topdown, 'backward_in_parts', split):
            out = model.train_step(batch, optim)
        assert torch.isfinite(out['loss_g'])
        splits[tf32] = split.call_count
        counts[tf32] = [optim[k]._inner_count for k in ('generator', 'discriminator')]
    assert splits == {False: 0, True: 1}
    assert counts == {False: [1, 1], True: [1, 1]}
    torch.testing.assert_close(grads[True], grads[False], rtol=1e-5, atol=1e-7)
    assert grads[True].abs().max() > 0
