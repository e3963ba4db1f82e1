"""Distributed training on a CPU machine, for the tests: NCCL's defects as
a gloo run can show them (CUDA-like tensors from tests/gpu_emulation.py).

- :func:`check_collective_devices`: every ``torch.distributed`` collective
  must receive tensors on the communication device (NCCL: CUDA); with
  ``comm_device='cuda'`` a gloo run emulates NCCL.
- :func:`run_gloo_ranks` runs a function on N spawned gloo processes.
"""
from __future__ import annotations

import functools
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Union
from unittest import mock

import torch
import torch.distributed as torch_dist
from gpu_emulation import FAKE_CUDA, FakeCudaTensor, to_fake_cuda

COLLECTIVES = ('all_reduce', 'broadcast', 'all_gather', 'all_gather_into_tensor', 'gather',
               'scatter', 'reduce', 'reduce_scatter', 'reduce_scatter_tensor',
               'all_to_all', 'all_to_all_single')


class CollectiveDeviceError(RuntimeError):
    """A collective received a tensor that is not on the communication device."""


@dataclass
class CollectiveCall:
    """One collective: its name and the devices of the tensors it received."""

    name: str
    devices: list


def _tensors(obj: Any) -> list:
    if torch.is_tensor(obj):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for v in obj for t in _tensors(v)]
    return []


def _cast_to_fake_cuda(original: Callable) -> Callable:
    """mmengine's ``cast_data_device`` where ``.to('cuda')`` gives a
    :class:`FakeCudaTensor` instead of failing on a CPU machine."""
    from mmengine.utils import apply_to

    def on_host(data):
        return apply_to(data, lambda t: isinstance(t, FakeCudaTensor), lambda t: t.cpu())

    def cast(data, device, out=None):
        if torch.device(device).type != 'cuda':
            return original(on_host(data), device, out)
        on_device = to_fake_cuda(data)
        if out is not None:
            original(on_host(on_device), torch.device('cpu'), out)  # copies into ``out``
        return on_device
    return cast


@contextmanager
def check_collective_devices(comm_device: Union[str, torch.device, None] = None
                             ) -> Iterator[list]:
    """Check that every ``torch.distributed`` collective (those mmengine's
    ``mmengine.dist`` calls: ``all_reduce``, ``broadcast``, ``all_gather``,
    ``gather``, ...) receives its tensors on ``comm_device``.

    ``comm_device=None`` takes ``mmengine.dist.get_comm_device()`` (gloo:
    CPU). ``'cuda'`` emulates NCCL on a gloo group: mmengine's
    ``get_comm_device`` answers ``cuda:0`` and its casts to that device give
    :class:`FakeCudaTensor`, and a collective receiving anything else raises
    :class:`CollectiveDeviceError` (NCCL: "Tensors must be CUDA and dense").
    Yields the list of :class:`CollectiveCall` made, in order. Object
    collectives (``broadcast_object_list``, ...) choose their own device and
    are not checked.
    """
    import mmengine.dist as mm_dist
    import mmengine.dist.dist as mm_dist_impl
    import mmengine.dist.utils as mm_dist_utils
    device = torch.device(comm_device) if comm_device is not None else mm_dist.get_comm_device()
    if device.type == 'cuda' and device.index is None:
        device = FAKE_CUDA
    calls: list = []

    def checked(name: str, collective: Callable) -> Callable:
        @functools.wraps(collective)
        def run(*args, **kwargs):
            tensors = _tensors(list(args) + list(kwargs.values()))
            devices = [t.device for t in tensors]
            calls.append(CollectiveCall(name, devices))
            wrong = [d for d in devices if d != device]
            if wrong:
                raise CollectiveDeviceError(
                    f'{name}: a tensor on {wrong[0]}, but the communication device is '
                    f'{device} (NCCL: Tensors must be CUDA and dense)')
            return collective(*args, **kwargs)
        return run

    with ExitStack() as stack:
        for name in COLLECTIVES:
            if hasattr(torch_dist, name):
                stack.enter_context(mock.patch.object(
                    torch_dist, name, checked(name, getattr(torch_dist, name))))
        if comm_device is not None:
            for module in (mm_dist, mm_dist_impl, mm_dist_utils):
                stack.enter_context(mock.patch.object(module, 'get_comm_device',
                                                      lambda group=None: device))
            if device.type == 'cuda':
                stack.enter_context(mock.patch.object(
                    mm_dist_impl, 'cast_data_device',
                    _cast_to_fake_cuda(mm_dist_utils.cast_data_device)))
        yield calls


def _gloo_rank(rank: int, fn: Callable, world_size: int, store_path: str, args: tuple) -> None:
    """One spawned rank of :func:`run_gloo_ranks`.

    The ranks meet through a file store: a TCP store is served by a thread
    of rank 0, and rank 0 leaving while another rank still held its
    connection aborted it ("terminate called without an active exception",
    about one run in eight on 2 busy cores). The closing barrier makes the
    ranks leave the group together."""
    import datetime
    import os
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank))
    torch_dist.init_process_group('gloo', init_method=f'file://{store_path}', rank=rank,
                                  world_size=world_size,
                                  timeout=datetime.timedelta(seconds=60))
    try:
        fn(rank, *args)
        torch_dist.barrier()
    finally:
        torch_dist.destroy_process_group()


def run_gloo_ranks(fn: Callable, world_size: int, *args: Any, timeout: float = 300) -> None:
    """Run ``fn(rank, *args)`` in ``world_size`` spawned processes joined in
    a gloo process group (collectives time out after 60 s). ``fn`` must be a
    module-level function of an importable module (tests/ is on the path of
    the spawned processes); an exception in a rank is raised here."""
    import os
    import shutil
    import tempfile
    import time

    import torch.multiprocessing as mp
    store_dir = tempfile.mkdtemp(prefix='gloo_store_')
    try:
        context = mp.start_processes(
            _gloo_rank, args=(fn, world_size, os.path.join(store_dir, 'store'), args),
            nprocs=world_size, join=False, start_method='spawn')
        deadline = time.monotonic() + timeout
        while not context.join(timeout=5):
            if time.monotonic() > deadline:
                for process in context.processes:
                    process.kill()
                raise TimeoutError(f'{world_size} gloo ranks still running after {timeout} s')
    finally:
        shutil.rmtree(store_dir, ignore_errors=True)
