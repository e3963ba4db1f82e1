"""HRGAN checkpoints of multi-process runs: with each child in its own DDP
(``MMSeparateDistributedDataParallel``) the model's state-dict keys are
still those of the one-process model, so ``--resume``, ``tools/test.py``
and the plugin's checkpoint checks read them; checkpoints written with the
wrappers' ``module.`` in their keys are read too."""
import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.model import MMSeparateDistributedDataParallel
from mmengine.runner.checkpoint import load_state_dict
from mmpose.registry import MODELS
from utils import QUICKSTART_HRGAN, assert_same

from hrgan_plugin.utils.checkpoint_match import read_checkpoint


def _model(seed: int):
    torch.manual_seed(seed)
    return MODELS.build(Config.fromfile(QUICKSTART_HRGAN).model)


def test_separately_wrapped_hrgan_keeps_one_process_keys(tmp_path):
    plain = _model(0).state_dict()
    dist.init_process_group('gloo', init_method=f'file://{tmp_path}/store', rank=0,
                            world_size=1)
    try:
        model = _model(1)
        wrapper = MMSeparateDistributedDataParallel(model, broadcast_buffers=False)
        wrapped = sorted(n for n, m in model.named_children()
                         if type(m).__name__ == 'MMDistributedDataParallel')
        assert wrapped == ['backbone', 'discriminator', 'head']
        assert 'backbone.module.conv1.weight' in dict(model.named_parameters())
        state = model.state_dict()
        assert list(state) == list(plain)  # the same keys, in the same order
        # mmengine's loader (resume, load_from, test.py) into a one-process
        # model, and a one-process checkpoint into the wrapped model
        fresh = _model(2)
        load_state_dict(fresh, state, strict=True)
        assert_same(fresh.state_dict(), state)
        load_state_dict(wrapper.module, plain, strict=True)
        assert_same(model.state_dict(), plain)
        # keys as multi-process checkpoints had them before: CHILD.module.KEY
        legacy = {(f'{k.split(".", 1)[0]}.module.{k.split(".", 1)[1]}'
                   if k.split('.', 1)[0] in wrapped else k): v for k, v in state.items()}
        assert 'head.module.final_layer.weight' in legacy and 'k_t' in legacy
        old = _model(3)
        load_state_dict(old, legacy, strict=True)
        assert_same(old.state_dict(), state)
        torch.save(dict(state_dict=legacy), tmp_path / 'legacy.pth')
        weights, _ = read_checkpoint(str(tmp_path / 'legacy.pth'))
        assert list(weights) == list(state)
    finally:
        dist.destroy_process_group()
