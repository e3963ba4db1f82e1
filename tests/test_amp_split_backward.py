"""``backward_in_parts`` (hrgan_plugin/models/pose_estimators/mixed_precision.py),
which backpropagates HRGAN's small loss terms on their own under AMP (see
tests/test_amp.py): its parts add up to one accumulating backward of the
weighted sum, counted once by the optimiser wrapper, and DDP all-reduces the
accumulated gradient on 2 spawned gloo ranks, leaving every rank with the
ranks' mean of the full gradient.
"""
from __future__ import annotations

import importlib.util
import os.path as osp
from unittest import mock

import torch
from dist_emulation import run_gloo_ranks
from gpu_emulation import REPO

MIXED_PRECISION = osp.join(REPO, 'hrgan_plugin', 'models', 'pose_estimators',
                           'mixed_precision.py')


def test_backward_in_parts_is_one_accumulating_backward_of_the_sum():
    """``p.grad`` is that of ``(main + w * term) / accumulative_counts``;
    the wrapper counts one backward; a zero weight runs no extra pass."""
    from mmengine.optim import OptimWrapper

    from hrgan_plugin.models.pose_estimators.mixed_precision import backward_in_parts
    torch.manual_seed(0)
    net = torch.nn.Linear(4, 3)
    x = torch.randn(5, 4)
    optim = OptimWrapper(torch.optim.SGD(net.parameters(), lr=0.1), accumulative_counts=2)
    out = net(x)
    main, term = out.pow(2).mean(), out.sin().sum()
    backward_in_parts(optim, main, [(-0.3, term)], list(net.parameters()))
    expected = torch.autograd.grad((net(x).pow(2).mean() - 0.3 * net(x).sin().sum()) / 2,
                                   list(net.parameters()))
    for p, g in zip(net.parameters(), expected):
        torch.testing.assert_close(p.grad, g)
    assert optim._inner_count == 1
    net.zero_grad()
    out = net(x)
    with mock.patch.object(torch.autograd, 'grad', side_effect=AssertionError('extra pass')):
        backward_in_parts(optim, out.pow(2).mean(), [(0.0, out.sum())], list(net.parameters()))
    assert optim._inner_count == 2


# ---------------------------------------------------------------- DDP
def _load_mixed_precision():
    """The helper module alone (it needs only torch): spawned ranks skip
    importing mmpose."""
    spec = importlib.util.spec_from_file_location('mixed_precision', MIXED_PRECISION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _PlainWrapper:
    """What ``backward_in_parts`` uses of an mmengine optimiser wrapper."""
    loss_scaler = None

    def scale_loss(self, loss: torch.Tensor) -> torch.Tensor:
        return loss

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        loss.backward(**kwargs)


def _ddp_rank(rank: int) -> None:
    """Each rank: a DDP conv net under bf16 autocast, its loss ``main +
    w * small`` split by ``backward_in_parts``; DDP must all-reduce the
    accumulated fp32 ``.grad``, i.e. leave every rank with the ranks' mean
    of the full gradient. (A second ``backward`` through DDP instead is not
    reduced: ``.grad`` = mean of the first + this rank's second.)"""
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP
    backward_in_parts = _load_mixed_precision().backward_in_parts
    torch.set_num_threads(1)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Conv2d(4, 2, 3))
    ddp = DDP(net)
    params = list(net.parameters())
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(rank))
    for _ in range(2):  # DDP's first iteration rebuilds its buckets
        for p in params:
            p.grad = None
        with torch.autocast('cpu', dtype=torch.bfloat16):
            out = ddp(x)
            main, small = out.float().pow(2).mean(), out.float().mean()
        backward_in_parts(_PlainWrapper(), main, [(0.5, small)], params)
    # this rank's own split gradient, averaged over the ranks by hand
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = net(x)
        main, small = out.float().pow(2).mean(), out.float().mean()
    local = [a + 0.5 * b for a, b in zip(torch.autograd.grad(main, params, retain_graph=True),
                                         torch.autograd.grad(small, params))]
    for p, g in zip(params, local):
        mine = g.clone()
        dist.all_reduce(g)
        torch.testing.assert_close(p.grad, g / 2, rtol=1e-5, atol=1e-7)
        assert not torch.allclose(mine, g / 2)  # the ranks' data differ


def test_split_backward_is_all_reduced_by_ddp():
    run_gloo_ranks(_ddp_rank, 2, timeout=240)
