"""Mechanism checks of a finished training run, computed on its val set.

Does each method do what its paper says it does? For the run of RUN_CONFIG
(the ``config.py`` a ``tools/train.py`` work dir holds) at CHECKPOINT:

- HRGAN (``AdversarialTopdownPoseEstimator``): ``mech/d_err_real``,
  ``mech/d_err_implausible`` and ``mech/d_plausibility_ratio``, the
  discriminator's error on ground-truth heatmaps and on the same heatmaps
  with left and right swapped and one joint moved by a limb length;
- ASR (``AdversarialAugmentationHook``): ``mech/asr_scale_rank_corr`` and
  ``mech/asr_rotation_rank_corr``, Spearman's correlation between the learned
  bin probabilities and the pose model's per-bin difficulty (1 - PCK);
- AHO (the hook): ``mech/aho_pck_drop_learned``, ``mech/aho_pck_drop_random``
  and ``mech/aho_drop_ratio``, the PCK drop when the most probable cells are
  occluded against as many random cells.

Writes OUT.json, a flat ``{check_name: value}`` object with the checks that
apply (``{}`` for a plain model without the hook; NaN where a value is
undefined, e.g. a rank correlation over bins of equal difficulty)::

    python tools/mechanism_check.py work_dirs/run/config.py work_dirs/run/epoch_7.pth \\
        --out work_dirs/run/mechanisms.json
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import sys
from typing import Optional

from mmengine.logging import MMLogger

import hrgan_plugin  # noqa: F401  (registers the plugin's modules)
from hrgan_plugin.experiments.mechanisms import (
    CheckSettings,
    MechanismCheckError,
    run_mechanism_checks,
)
from hrgan_plugin.utils.checkpoint_match import CheckpointError
from hrgan_plugin.utils.preflight import DataConfigError


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help="the run's dumped config (RUN_CONFIG)")
    parser.add_argument('checkpoint', help="the run's last checkpoint")
    parser.add_argument('--out', required=True, help='the JSON file to write')
    parser.add_argument('--device', default='cpu', help="torch device (default 'cpu')")
    parser.add_argument('--batch-size', type=int, default=32, help='val images per batch')
    parser.add_argument('--max-samples', type=int, default=None,
                        help='use the first N val samples only (default: all)')
    parser.add_argument('--random-draws', type=int, default=5,
                        help='random occlusions per person for the AHO reference')
    parser.add_argument('--seed', type=int, default=0, help='seed of the random occlusions')
    return parser.parse_args(argv)


def write_json(path: str, results: dict) -> None:
    """Write ``results`` to ``path`` atomically (a reader never sees half a file)."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(results, f, indent=2)
        f.write('\n')
    os.replace(tmp, path)


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    for what, path in (('RUN_CONFIG', args.config), ('CHECKPOINT', args.checkpoint)):
        if not osp.isfile(path):
            print(f"error: {what} '{path}' does not exist", file=sys.stderr)
            return 2
    MMLogger.get_instance('mechanism_check', log_level='WARNING')  # no weight-init report
    settings = CheckSettings(device=args.device, batch_size=args.batch_size,
                             max_samples=args.max_samples, draws=args.random_draws,
                             seed=args.seed)
    try:
        results = run_mechanism_checks(args.config, args.checkpoint, settings)
    except (MechanismCheckError, CheckpointError, DataConfigError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    write_json(args.out, results)
    summary = ', '.join(f'{k} = {v:.4g}' for k, v in results.items()) or 'no check applies'
    print(f'wrote {args.out}: {summary}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
