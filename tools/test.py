"""Test a checkpoint: mmpose's ``tools/test.py`` with hrgan_plugin imported.

Takes the same arguments as mmpose's tool, e.g.::

    python tools/test.py CONFIG CHECKPOINT --work-dir work_dirs/eval
"""
import sys

import hrgan_plugin  # noqa: F401  (registers the plugin's modules)
from hrgan_plugin.utils.tool_runner import run_mmpose_tool

if __name__ == '__main__':
    sys.exit(run_mmpose_tool('test'))
