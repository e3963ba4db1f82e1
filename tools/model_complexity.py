"""Parameters and FLOPs of configs' inference networks, as a markdown table.

Counts with mmengine's ``get_model_complexity_info`` over the model's
``_forward`` (backbone, neck, head: what runs at test time; an HRGAN
discriminator is not counted) at the config's input size, batch 1::

    python tools/model_complexity.py configs/hg*_mpii_256x256.py \
        mmpose::body_2d_keypoint/topdown_heatmap/mpii/td-hm_hrnet-w32_8xb64-210e_mpii-256x256.py
"""
import argparse
import os.path as osp

import torch
import torch.nn as nn
from mmengine.analysis import get_model_complexity_info
from mmengine.config import Config
from mmengine.hub import get_config
from mmpose.registry import MODELS
from mmpose.utils import register_all_modules

import hrgan_plugin  # noqa: F401  (registers the plugin's modules)


class _Inference(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor):
        return self.model._forward(x)


def complexity(config: str) -> dict:
    """``dict(params, flops, input)`` of one config's inference network."""
    cfg = get_config(config) if '::' in config else Config.fromfile(config)
    cfg.model.get('backbone', {}).pop('init_cfg', None)
    model = MODELS.build(cfg.model).eval()
    if hasattr(model, 'discriminator'):  # training-only part of HRGAN
        del model.discriminator
    w, h = cfg.codec['input_size']
    info = get_model_complexity_info(_Inference(model), inputs=(torch.zeros(1, 3, h, w), ),
                                     show_table=False, show_arch=False)
    return dict(params=info['params'], flops=info['flops'], input=f'{h}x{w}')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('configs', nargs='+')
    args = parser.parse_args()
    register_all_modules()
    print('| config | input | params (M) | GFLOPs |')
    print('|---|---|---|---|')
    for config in args.configs:
        c = complexity(config)
        name = config if config.startswith('mmpose::') else osp.basename(config)
        print(f'| `{name}` | {c["input"]} | {c["params"] / 1e6:.2f} | {c["flops"] / 1e9:.2f} |')


if __name__ == '__main__':
    main()
