"""The runs of an experiment on disk: a run's identity and folder, its
validation schedule, clearing a stale run, and the spec's synthetic data."""
from __future__ import annotations

import json
import os
import os.path as osp
import shutil
from dataclasses import dataclass

from mmengine.config import Config

from .spec import Arm, ExperimentSpec, SpecError


@dataclass
class Run:
    arm: Arm
    seed: int
    dir: str
    cfg: Config
    key: str

    @property
    def label(self) -> str:
        return f'{self.arm.name} seed {self.seed}'

    @property
    def result_file(self) -> str:
        return osp.join(self.dir, 'result.json')

    def finished(self) -> bool:
        """A result exists for exactly this run's config."""
        try:
            with open(self.result_file) as f:
                return json.load(f).get('key') == self.key
        except (OSError, ValueError):
            return False


def set_val_points(cfg: Config, points: int) -> None:
    """Validate about ``points`` times over the schedule (every
    ``max_epochs // points`` epochs, and at the end; an iteration-based loop
    every ``max_iters // points`` iterations), each logged at its training
    iteration."""
    loop = cfg.train_cfg
    if 'max_epochs' in loop:
        loop.val_interval = max(1, loop.max_epochs // points)
    else:
        loop.val_interval = max(1, loop.max_iters // points)
    cfg.default_hooks.logger.log_metric_by_epoch = False


def ensure_data(spec: ExperimentSpec, repo_root: str = '.') -> None:
    """Write the spec's synthetic dataset unless it is there already with
    the same settings. A folder the runner did not write is never replaced."""
    if not spec.data:
        return
    from hrgan_plugin.datasets import write_synthetic_dataset
    settings = dict(spec.data)
    root = osp.join(repo_root, settings.pop('root'))
    marker = osp.join(root, '.settings.json')
    if osp.isfile(marker):
        with open(marker) as f:
            if json.load(f) == settings:
                return
    elif osp.isdir(root) and os.listdir(root):
        raise SpecError(f'{spec.path}: data.root {root} holds files the experiment runner did '
                        'not write; remove it or choose another root')
    print(f'writing the synthetic dataset {root} ({settings})', flush=True)
    shutil.rmtree(root, ignore_errors=True)
    counts = write_synthetic_dataset(root, **settings)
    for split, c in counts.items():
        print(f'  {split}: {c["coco_instances"]} persons, {c["hidden"]} of {c["keypoints"]} '
              f'labelled keypoints hidden', flush=True)
    with open(marker, 'w') as f:
        json.dump(settings, f)


def clear(run: Run) -> None:
    """Make room for a fresh run: a finished run of another config is kept
    beside it as ``seedS.KEY``; a half-written one is removed."""
    try:
        with open(run.result_file) as f:
            old_key = json.load(f)['key']
    except (OSError, ValueError, KeyError):
        shutil.rmtree(run.dir, ignore_errors=True)
        return
    kept = f'{run.dir}.{old_key}'
    shutil.rmtree(kept, ignore_errors=True)
    os.replace(run.dir, kept)
    print(f'{run.label}: the config changed; the earlier run is kept in {kept}', flush=True)
