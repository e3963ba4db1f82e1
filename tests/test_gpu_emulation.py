"""The GPU emulation the tests rely on (tests/gpu_emulation.py,
tests/dist_emulation.py) behaves as CUDA tensors and NCCL do where it
matters: device, numpy, loading on a CPU machine, mmengine's checkpoint
loading on a GPU host, collective devices."""
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch
from dist_emulation import CollectiveDeviceError, check_collective_devices
from gpu_emulation import (
    CUDA_NUMPY_MESSAGE,
    FakeCudaTensor,
    count_fake_cuda,
    emulate_cuda_map_location,
    to_fake_cuda,
)


def test_fake_cuda_tensor_reports_cuda_and_refuses_numpy():
    t = torch.arange(4, dtype=torch.float64).as_subclass(FakeCudaTensor)
    assert t.device == torch.device('cuda', 0) and t.is_cuda and not t.is_cpu
    assert t.get_device() == 0
    with pytest.raises(TypeError) as err:
        t.numpy()
    assert str(err.value) == CUDA_NUMPY_MESSAGE
    with pytest.raises(TypeError, match="can't convert cuda:0 device type tensor to numpy"):
        np.asarray(t)
    # other operations stay on the "GPU"; values are computed for real
    doubled = t * 2
    assert isinstance(doubled, FakeCudaTensor) and doubled.tolist() == [0.0, 2.0, 4.0, 6.0]
    assert isinstance(t.to(torch.float32), FakeCudaTensor) and t.to(torch.float32).is_cuda
    assert isinstance(t.cuda(), FakeCudaTensor)


@pytest.mark.parametrize('move', [lambda t: t.cpu(), lambda t: t.to('cpu'),
                                  lambda t: t.to(torch.device('cpu'), torch.float32),
                                  lambda t: t.to(torch.zeros(1))])
def test_moved_to_the_cpu_it_is_a_plain_tensor(move):
    t = torch.tensor([1.5, 2.5]).as_subclass(FakeCudaTensor)
    plain = move(t)
    assert type(plain) is torch.Tensor and plain.device.type == 'cpu'
    np.testing.assert_array_equal(plain.numpy(), [1.5, 2.5])


def test_a_default_torch_load_refuses_it(tmp_path):
    """As a CPU machine refuses a file with CUDA tensors; moved to the CPU
    first, the same values load."""
    path = tmp_path / 'gpu.pth'
    torch.save({'w': torch.ones(3).as_subclass(FakeCudaTensor)}, path)
    with pytest.raises(pickle.UnpicklingError, match='FakeCudaTensor'):
        torch.load(path)
    loaded = torch.load(path, weights_only=False)['w']  # trusted: the class comes back
    assert isinstance(loaded, FakeCudaTensor) and loaded.tolist() == [1.0, 1.0, 1.0]
    torch.save({'w': torch.ones(3).as_subclass(FakeCudaTensor).cpu()}, path)
    assert torch.load(path)['w'].tolist() == [1.0, 1.0, 1.0]


def test_to_fake_cuda_maps_nested_containers():
    state = OrderedDict(a=torch.zeros(2), b=[torch.ones(1), (torch.ones(1), 3)], c='x')
    state._metadata = {'': {'version': 1}}
    fake = to_fake_cuda(state)
    assert type(fake) is OrderedDict and fake._metadata == {'': {'version': 1}}
    assert isinstance(fake['a'], FakeCudaTensor) and isinstance(fake['b'][1][0], FakeCudaTensor)
    assert fake['b'][1][1] == 3 and fake['c'] == 'x'
    assert count_fake_cuda(fake) == 3 and count_fake_cuda(state) == 0


def test_emulated_map_location_loads_cuda_tensors_for_cuda_only(tmp_path):
    """mmengine's loaders: a CUDA map_location gives FakeCudaTensors, 'cpu'
    (load_from) plain tensors; outside the context nothing changes."""
    from mmengine.runner.checkpoint import _load_checkpoint
    path = str(tmp_path / 'c.pth')
    torch.save({'state_dict': {'w': torch.ones(2)}, 'meta': {'epoch': 1}}, path)
    with emulate_cuda_map_location() as record:
        on_gpu = _load_checkpoint(path, map_location='cuda')
        on_cpu = _load_checkpoint(path, map_location='cpu')
    assert isinstance(on_gpu['state_dict']['w'], FakeCudaTensor)
    assert type(on_cpu['state_dict']['w']) is torch.Tensor
    assert record.loads == [(path, 1)] and record.tensors == 1
    assert type(_load_checkpoint(path, map_location='cpu')['state_dict']['w']) is torch.Tensor


def test_collective_checker_refuses_a_tensor_off_the_communication_device():
    """No process group is needed to see the check: it runs before the
    collective does."""
    import torch.distributed as dist
    with check_collective_devices('cuda') as calls:
        with pytest.raises(CollectiveDeviceError,
                           match=r'^all_reduce: a tensor on cpu, but the communication device '
                                 r'is cuda:0'):
            dist.all_reduce(torch.zeros(2))
    assert [(c.name, c.devices) for c in calls] == [('all_reduce', [torch.device('cpu')])]
    assert dist.all_reduce.__name__ == 'all_reduce'  # restored
