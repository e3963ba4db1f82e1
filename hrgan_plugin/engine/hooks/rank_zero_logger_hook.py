"""mmengine's LoggerHook with a test-metrics json that multi-process tests
leave readable."""
from __future__ import annotations

from typing import Dict, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import LoggerHook
from mmpose.registry import HOOKS


@HOOKS.register_module()
class RankZeroLoggerHook(LoggerHook):
    """:class:`~mmengine.hooks.LoggerHook` (same arguments) whose test
    metrics are written by rank 0 alone.

    mmengine 0.10.7's ``LoggerHook.after_test_epoch`` dumps the metrics on
    every rank into the one ``<log_dir>/<timestamp>.json`` (the timestamp is
    rank 0's, broadcast), each opening it with mode ``'w'``. The ranks'
    records differ in length (their own times), so a shorter record written
    last leaves the tail of a longer one behind it: ``tools/dist_test.sh``
    could end with a json log no reader parses. The metrics are the same on
    every rank (the evaluator gathers the predictions first), so rank 0's
    record is the run's. Training and validation logging are unchanged; the
    visualizer already writes on rank 0 only.
    """

    def after_test_epoch(self, runner,
                         metrics: Optional[Dict[str, float]] = None) -> None:
        if is_main_process():
            super().after_test_epoch(runner, metrics)
