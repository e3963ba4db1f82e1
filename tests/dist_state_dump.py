"""Helper for test_distributed.py: trains CONFIG for a short run and saves
what this rank holds to OUT_DIR/rank{R}.pth.

    python dist_state_dump.py CONFIG OUT_DIR [key=value ...]             # 1 process
    python -m torch.distributed.run --nproc_per_node N dist_state_dump.py ...  # N, gloo

Saved: the final model state, the augmentation hook's state (when the config
has one), and per iteration this rank's local losses, the gradients each
optimiser stepped with (flattened), k_t and the logged augmentation entropies.
"""
import os
import sys

import torch
import torch.distributed as dist
from mmengine.config import Config, DictAction
from mmengine.hooks import Hook
from mmengine.optim import OptimWrapperDict
from mmengine.runner import Runner

import hrgan_plugin  # noqa: F401
from hrgan_plugin.utils.model_wrappers import unwrap_model


class RankRecorder(Hook):
    priority = 'LOWEST'

    def __init__(self) -> None:
        self.iters: list[dict] = []
        self.grads: dict[str, list[torch.Tensor]] = {}

    def before_train(self, runner) -> None:
        wrappers = runner.optim_wrapper
        items = (wrappers.items() if isinstance(wrappers, OptimWrapperDict)
                 else [('model', wrappers)])
        for name, wrapper in items:
            self.grads[name] = []
            wrapper.step = self._recording(name, wrapper, wrapper.step)

    def _recording(self, name, wrapper, step):
        def recorded_step(**kwargs):
            params = [p for group in wrapper.optimizer.param_groups for p in group['params']
                      if p.grad is not None]
            self.grads[name].append(torch.cat([p.grad.detach().flatten() for p in params]))
            return step(**kwargs)
        return recorded_step

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        model = unwrap_model(runner.model)
        record = dict(losses={k: float(v.detach()) for k, v in (outputs or {}).items()})
        if hasattr(model, 'k_t'):
            record['k_t'] = float(model.k_t)
        scalars = runner.message_hub.log_scalars
        record['aug'] = {k: scalars[k].current() for k in scalars if 'aug_entropy' in k}
        self.iters.append(record)


def main() -> None:
    config, out_dir = sys.argv[1], sys.argv[2]
    options = {}
    for item in sys.argv[3:]:  # key=value, parsed as --cfg-options does
        key, value = item.split('=', 1)
        options[key] = DictAction._parse_iterable(value)
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options)
    if 'RANK' in os.environ:
        dist.init_process_group('gloo')
        cfg.launcher = 'pytorch'
        cfg.setdefault('model_wrapper_cfg', dict(type='MMDistributedDataParallel'))
        cfg.model_wrapper_cfg['device_ids'] = None
    cfg.work_dir = out_dir
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint = None
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    recorder = RankRecorder()
    runner.register_hook(recorder)
    runner.train()

    model = unwrap_model(runner.model)
    state = {k.replace('.module.', '.'): v.detach().cpu().clone()  # DDP-wrapped children
             for k, v in model.state_dict().items()}
    dump = dict(state=state,
                wrapper=type(runner.model).__name__, iters=recorder.iters,
                grads=recorder.grads)
    if hasattr(model, 'discriminator'):
        dump['child'] = type(model.discriminator).__name__
    for hook in runner.hooks:
        if type(hook).__name__ == 'AdversarialAugmentationHook':
            checkpoint: dict = {}
            hook.before_save_checkpoint(runner, checkpoint)
            dump['aug'] = checkpoint['hook_states']['AdversarialAugmentationHook']
    rank = dist.get_rank() if dist.is_initialized() else 0
    torch.save(dump, os.path.join(out_dir, f'rank{rank}.pth'))


if __name__ == '__main__':
    main()
