"""Helper run under torchrun by test_distributed.py: trains a config for one
short epoch on gloo and saves this rank's model state and k_t."""
import os
import sys

import torch
import torch.distributed as dist
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

import hrgan_plugin  # noqa: F401


def main() -> None:
    config, out_dir = sys.argv[1], sys.argv[2]
    options = {}
    for item in sys.argv[3:]:  # key=value, parsed as --cfg-options does
        key, value = item.split('=', 1)
        options[key] = DictAction._parse_iterable(value)
    dist.init_process_group('gloo')
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options)
    cfg.launcher = 'pytorch'
    cfg.model_wrapper_cfg['device_ids'] = None
    cfg.work_dir = out_dir
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    runner.train()
    model = runner.model.module
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    torch.save(dict(state=state, wrapper=type(runner.model).__name__,
                    child=type(model.discriminator).__name__),
               os.path.join(out_dir, f'rank{dist.get_rank()}.pth'))


if __name__ == '__main__':
    main()
