"""GPU behaviour on a CPU machine, for the tests: helpers that let a CPU
test see defects that only show on a CUDA host (those of NCCL:
tests/dist_emulation.py).

- :class:`FakeCudaTensor` / :func:`to_fake_cuda`: tensors that act like CUDA
  tensors where it matters: they report ``cuda:0``, refuse ``.numpy()`` with
  torch's own message, come back as plain tensors from ``.cpu()`` /
  ``.to('cpu')``, and a default ``torch.load`` (``weights_only``) refuses a
  file holding one, as a CPU machine refuses a CUDA checkpoint.
- :func:`emulate_cuda_map_location`: mmengine's checkpoint loading hands out
  every tensor as a :class:`FakeCudaTensor` where a GPU host would load it
  with a CUDA ``map_location`` (``Runner.resume``'s default).
  :func:`run_tool_on_emulated_gpu` runs a repository tool that way in a
  subprocess.
- :func:`emulate_cuda_amp`: mmengine's ``AmpOptimWrapper`` on the CPU as on a
  GPU host: an enabled loss scaler, autocast in fp16 (``--amp``) or bf16.
"""
from __future__ import annotations

import functools
import os.path as osp
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional
from unittest import mock

import torch
from torch.overrides import TorchFunctionMode

TESTS = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(TESTS)

# ---------------------------------------------------------------------------
# Tensors that act like CUDA tensors
# ---------------------------------------------------------------------------

FAKE_CUDA = torch.device('cuda', 0)
CUDA_NUMPY_MESSAGE = ("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to "
                      'copy the tensor to host memory first.')


def _is_getter(func: Callable, prop: Any) -> bool:
    """``func`` is the getter of the ``torch.Tensor`` property ``prop``."""
    return getattr(func, '__self__', None) is prop and getattr(func, '__name__', '') == '__get__'


def _plain(tensor: torch.Tensor) -> torch.Tensor:
    """A plain ``torch.Tensor`` copy of ``tensor`` (what ``.cpu()`` of a
    CUDA tensor returns: host memory of its own)."""
    with torch._C.DisableTorchFunctionSubclass():
        return tensor.as_subclass(torch.Tensor).clone()


class FakeCudaTensor(torch.Tensor):
    """A CPU tensor that behaves like a CUDA tensor where it matters.

    It reports ``device == cuda:0`` and ``is_cuda``; ``.numpy()`` (and so
    ``np.asarray``) raises torch's ``TypeError``; ``.cpu()`` and ``.to('cpu')``
    (or ``.to(cpu_tensor)``) return a plain tensor, any other operation a
    :class:`FakeCudaTensor`. Pickled by ``torch.save`` it is stored as this
    class, which ``torch.load``'s ``weights_only`` default refuses
    ("Unsupported global"). Arithmetic with real CPU tensors is not refused
    (CUDA would refuse it for non-scalars).
    """

    @classmethod
    def __torch_function__(cls, func: Callable, types: tuple, args: tuple = (),
                           kwargs: Optional[dict] = None) -> Any:
        kwargs = kwargs or {}
        if func in (torch.Tensor.numpy, torch.Tensor.__array__):
            raise TypeError(CUDA_NUMPY_MESSAGE)
        if _is_getter(func, torch.Tensor.device):
            return FAKE_CUDA
        if _is_getter(func, torch.Tensor.is_cuda):
            return True
        if _is_getter(func, torch.Tensor.is_cpu):
            return False
        if func is torch.Tensor.get_device:
            return FAKE_CUDA.index
        if func is torch.Tensor.cpu:
            return _plain(args[0])
        if func is torch.Tensor.cuda:
            return args[0]
        if func is torch.Tensor.to:
            return cls._to(*args, **kwargs)
        return super().__torch_function__(func, types, args, kwargs)

    @classmethod
    def _to(cls, self: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        """``Tensor.to``: a plain tensor for a CPU target, else this class."""
        if args and torch.is_tensor(args[0]):  # .to(other): its device and dtype
            other = args[0]
            device, dtype = other.device, other.dtype
            non_blocking = kwargs.get('non_blocking', args[1] if len(args) > 1 else False)
            memory_format = torch.preserve_format
        else:
            device, dtype, non_blocking, memory_format = torch._C._nn._parse_to(*args, **kwargs)
            memory_format = memory_format or torch.preserve_format
        with torch._C.DisableTorchFunctionSubclass():
            out = torch.Tensor.to(self.as_subclass(torch.Tensor), dtype=dtype or self.dtype,
                                  non_blocking=non_blocking, memory_format=memory_format)
        if device is not None and torch.device(device).type == 'cpu':
            return _plain(out)
        return out.as_subclass(cls)


def to_fake_cuda(obj: Any) -> Any:
    """``obj`` with every tensor in nested dicts, lists and tuples as a
    :class:`FakeCudaTensor` (``map_location='cuda'`` on a GPU host); dict
    types and a state dict's ``_metadata`` are kept."""
    if torch.is_tensor(obj):
        return obj if isinstance(obj, FakeCudaTensor) else obj.as_subclass(FakeCudaTensor)
    if isinstance(obj, dict):
        out = type(obj)((k, to_fake_cuda(v)) for k, v in obj.items())
        if hasattr(obj, '_metadata'):
            out._metadata = obj._metadata
        return out
    if isinstance(obj, tuple) and hasattr(obj, '_fields'):  # namedtuple
        return type(obj)(*(to_fake_cuda(v) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_fake_cuda(v) for v in obj)
    return obj


def count_fake_cuda(obj: Any) -> int:
    """Number of :class:`FakeCudaTensor` in nested dicts, lists and tuples."""
    if isinstance(obj, FakeCudaTensor):
        return 1
    if isinstance(obj, dict):
        return sum(count_fake_cuda(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(count_fake_cuda(v) for v in obj)
    return 0


# ---------------------------------------------------------------------------
# Checkpoints loaded as on a GPU host
# ---------------------------------------------------------------------------


@dataclass
class EmulatedLoads:
    """What :func:`emulate_cuda_map_location` did: per checkpoint load on a
    CUDA ``map_location``, the file and how many tensors it handed out as
    :class:`FakeCudaTensor`."""

    loads: list = field(default_factory=list)

    @property
    def tensors(self) -> int:
        return sum(n for _, n in self.loads)


def _names_cuda(map_location: Any) -> bool:
    if isinstance(map_location, (str, torch.device)):
        return torch.device(map_location).type == 'cuda'
    return False


@contextmanager
def emulate_cuda_map_location() -> Iterator[EmulatedLoads]:
    """mmengine's checkpoint loading as on a GPU host.

    ``Runner.resume``'s default ``map_location`` is ``get_device()``, which is
    ``'cuda'`` on a GPU host: inside this context it is ``'cuda'``, and every
    loader of ``mmengine.runner.CheckpointLoader`` (``load_from_local``, ...)
    asked for a CUDA ``map_location`` loads on the CPU and returns every
    tensor as a :class:`FakeCudaTensor`, so the ``after_load_checkpoint``
    hooks, the model, optimiser and message hub receive what they receive on
    a GPU. Other map locations (``load_from``'s ``'cpu'``) are unchanged.
    Yields an :class:`EmulatedLoads` record.
    """
    from mmengine.runner import Runner
    from mmengine.runner.checkpoint import CheckpointLoader
    record = EmulatedLoads()
    original_resume = Runner.resume

    @functools.wraps(original_resume)
    def resume(self, filename, resume_optimizer=True, resume_param_scheduler=True,
               map_location='default'):
        if map_location == 'default':
            map_location = 'cuda'  # get_device() on a GPU host
        return original_resume(self, filename, resume_optimizer, resume_param_scheduler,
                               map_location)

    def on_gpu_host(loader: Callable) -> Callable:
        @functools.wraps(loader)
        def load(filename, map_location=None, *args, **kwargs):
            if not _names_cuda(map_location):
                return loader(filename, map_location, *args, **kwargs)
            checkpoint = to_fake_cuda(loader(filename, 'cpu', *args, **kwargs))
            record.loads.append((filename, count_fake_cuda(checkpoint)))
            return checkpoint
        return load

    schemes = {prefix: on_gpu_host(loader) for prefix, loader in CheckpointLoader._schemes.items()}
    with mock.patch.object(Runner, 'resume', resume), \
            mock.patch.dict(CheckpointLoader._schemes, schemes):
        yield record


def _emulated_tool_main() -> None:
    """``python -c ... TOOL ARGS``: run the repository tool ``TOOL`` with
    ``ARGS`` inside :func:`emulate_cuda_map_location`; prints one line
    ``emulated GPU host: N tensors loaded as CUDA tensors in M loads``."""
    import runpy
    sys.argv = sys.argv[1:]
    code = 0
    with emulate_cuda_map_location() as record:
        try:
            runpy.run_path(sys.argv[0], run_name='__main__')
        except SystemExit as stop:
            code = stop.code
        finally:
            print(f'emulated GPU host: {record.tensors} tensors loaded as CUDA tensors in '
                  f'{len(record.loads)} loads')
    sys.exit(code)


def run_tool_on_emulated_gpu(tool: str, *args: str, timeout: int = 600
                             ) -> subprocess.CompletedProcess:
    """Run ``tools/<tool>`` (a path relative to the repository) with
    ``args`` in a subprocess whose checkpoint loading is
    :func:`emulate_cuda_map_location`; stdout and stderr captured as text."""
    code = (f'import sys; sys.path.insert(0, {TESTS!r}); '
            'from gpu_emulation import _emulated_tool_main; _emulated_tool_main()')
    return subprocess.run([sys.executable, '-c', code, tool, *args], cwd=REPO, text=True,
                          capture_output=True, timeout=timeout)


# ---------------------------------------------------------------------------
# Mixed precision (AMP) on the CPU
# ---------------------------------------------------------------------------


class CudaAutocastFp32Upsampling(TorchFunctionMode):
    """Under CPU autocast, ``F.interpolate`` runs in fp32 as CUDA autocast
    runs it: torch's ``AT_FORALL_FP32`` list (aten/src/ATen/autocast_mode.h),
    which CUDA autocast applies, holds every ``upsample_*`` op, so a half
    input comes back fp32; CPU autocast keeps it in half precision."""

    def __torch_function__(self, func: Callable, types: tuple, args: tuple = (),
                           kwargs: Optional[dict] = None) -> Any:
        kwargs = kwargs or {}
        if func is torch.nn.functional.interpolate and torch.is_autocast_enabled('cpu'):
            args = tuple(a.float() if isinstance(a, torch.Tensor)
                         and a.dtype in (torch.float16, torch.bfloat16) else a for a in args)
        return func(*args, **kwargs)


@contextmanager
def emulate_cuda_amp() -> Iterator[None]:
    """mmengine's ``AmpOptimWrapper`` on a CPU machine as on a GPU host.

    mmengine 0.10.7's ``AmpOptimWrapper.__init__`` asserts a CUDA (NPU, MLU)
    device and builds ``torch.cuda.amp.GradScaler``, which disables itself
    without CUDA; its ``optim_context`` runs mmengine's ``autocast``, which
    on the CPU turns ``dtype=None`` into bf16 and refuses fp16. Inside this
    context:

    - the assertion passes and the scaler is ``torch.amp.GradScaler('cpu')``:
      enabled, it scales the loss, unscales, checks for infs and skips steps
      as CUDA's does;
    - autocast on the CPU runs ``dtype=None`` as CUDA does, in fp16
      (``tools/train.py --amp``), and accepts fp16 as well as bf16. CPU
      autocast casts the same layers (convolutions, linear layers) to half
      precision; its list of ops kept in fp32 differs in details from CUDA's.
      Upsampling (``F.interpolate``), which CUDA runs in fp32 and the CPU in
      half precision, runs as on CUDA (:class:`CudaAutocastFp32Upsampling`).

    Wrappers built inside must also step inside (``optim_context`` looks
    ``autocast`` up when it runs).
    """
    import mmengine.runner.amp as runner_amp
    from mmengine.device import get_device
    from mmengine.optim.optimizer import amp_optimizer_wrapper as amp
    mmengine_autocast = runner_amp.autocast

    @contextmanager
    def autocast(device_type: Optional[str] = None, enabled: bool = True,
                 dtype: Optional[torch.dtype] = None,
                 cache_enabled: Optional[bool] = None) -> Iterator[None]:
        if (device_type or get_device()) != 'cpu' or not enabled:
            with mmengine_autocast(device_type, enabled, dtype, cache_enabled):
                yield
            return
        if cache_enabled is None:
            cache_enabled = torch.is_autocast_cache_enabled()
        with torch.autocast('cpu', dtype=dtype or torch.float16, cache_enabled=cache_enabled):
            yield

    with mock.patch.object(amp, 'is_cuda_available', lambda: True), \
            mock.patch.object(amp, 'GradScaler', functools.partial(torch.amp.GradScaler, 'cpu')), \
            mock.patch.object(runner_amp, 'autocast', autocast), CudaAutocastFp32Upsampling():
        yield
