"""Train a model: mmpose's ``tools/train.py`` with hrgan_plugin imported.

Takes the same arguments as mmpose's tool, e.g.::

    python tools/train.py configs/hrgan_w32_coco_256x192.py --work-dir work_dirs/hrgan
    python tools/train.py CONFIG --resume --cfg-options train_dataloader.batch_size=16
"""
import sys

import hrgan_plugin  # noqa: F401  (registers the plugin's modules)
from hrgan_plugin.utils.tool_runner import run_mmpose_tool

if __name__ == '__main__':
    sys.exit(run_mmpose_tool('train'))
