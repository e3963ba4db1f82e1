"""Experiment specs: arms x seeds, read from a Python config file.

A spec (kept under ``configs/experiments/``) sets::

    arms = dict(NAME=dict(config='configs/...py', cfg_options=dict(...)), ...)
    baseline = 'NAME'               # the arm every other arm is paired with
    seeds = [0, 1, 2, 3, 4]
    metrics = {'coco/AP': 'higher', 'occlusion/implausible_rate': 'lower'}
    primary = 'coco/AP'             # the one metric the verdict is about (Holm-adjusted)
    val_points = 10                 # validation points per run (learning curves)
    bounds = {'PCK': (0, 100)}      # range of a bounded metric; [0, 1] is detected
    mechanism_samples = 64          # val persons the mechanism checks read (default all)
    contrasts = [('arm_a', 'arm_b')]  # further primary comparisons: arm_a - arm_b, paired
    schedule = {'train_cfg.max_epochs': 3, ...}   # every run's schedule
    cfg_options = {...}             # other settings shared by every run
    curves = ['loss_kpt', 'k_t']    # logged scalars plotted over training
    data = dict(root='data/x', preset='occlusion', num_train=1000, num_val=150)
    pretrain = dict(config='configs/...py', cfg_options=dict(...))
    pretrain = dict(per_arm=True, cfg_options=dict(...))  # or: each arm its own stage 1
    pretrain_seed = 0               # one pretrain, shared by every seed's arms

``primary`` must be one of ``metrics``; every other metric is exploratory.
``contrasts`` is optional: pairs of arms compared on the primary metric
besides every arm against the baseline (e.g. two variants of a method), in
the same Holm family.
``val_points`` is optional: when given, every run validates that many times
(``train_cfg.val_interval`` of about ``max_epochs / val_points``, and the
last epoch) and logs each point at its training iteration. ``bounds`` is
optional: a metric whose every value lies in [0, 1] is taken as a rate in
[0, 1] without it.
``pretrain`` is optional: a run trained once per seed before the arms
(options: ``schedule``, ``cfg_options``, its own ``cfg_options``, the seed),
whose final weights (archived as ``OUT/results/_pretrain/seedS.pth``) every
arm of that seed starts from (``load_from``), so
the arms share one stage-1 pose net. ``pretrain_seed`` is optional: when
given, a single pretrain run with that seed serves the arms of every seed
(one long stage 1 instead of one per seed; the seeds then differ in stage 2
only). With ``per_arm=True`` every arm has a stage 1 of its own instead
(arms that are different networks): run ``_pretrain-ARM``, the arm's config
trained with, in order, ``schedule``, ``cfg_options``, the pretrain's
``cfg_options`` and the arm's ``cfg_options``; the arm's runs start from its
final weights. ``data`` is optional: when given, the
synthetic dataset is written there first (once). A run's config is its
arm's config merged with, in order, ``schedule``, ``cfg_options``, the arm's
``cfg_options``, the command line's ``--cfg-options`` and ``randomness.seed``.
"""
from __future__ import annotations

import ast
import os.path as osp
from dataclasses import dataclass, field
from typing import Optional

from mmengine.config import Config

DIRECTIONS = ('higher', 'lower')
PRETRAIN = '_pretrain'  # the run name of a spec's pretrain (``_pretrain-ARM``: an arm's own)


def is_pretrain(name: str) -> bool:
    """Whether ``name`` is a stage-1 run's (shared, or an arm's own)."""
    return name == PRETRAIN or name.startswith(f'{PRETRAIN}-')


class SpecError(ValueError):
    """An experiment spec that cannot be run; the message names the file
    and the key at fault."""


@dataclass
class Arm:
    name: str
    config: str
    cfg_options: dict = field(default_factory=dict)


@dataclass
class ExperimentSpec:
    """A parsed spec; see the module docstring for the keys."""
    path: str
    name: str
    description: str
    arms: list
    baseline: str
    seeds: list
    metrics: dict
    schedule: dict
    cfg_options: dict
    curves: list
    data: Optional[dict]
    pretrain: Optional[Arm] = None
    primary: Optional[str] = None
    val_points: Optional[int] = None
    bounds: dict = field(default_factory=dict)
    mechanism_samples: Optional[int] = None
    contrasts: list = field(default_factory=list)  # [(arm, reference), ...]
    pretrain_seed: Optional[int] = None  # one shared pretrain run with this seed
    pretrain_per_arm: Optional[dict] = None  # each arm's own stage 1: these options

    def __post_init__(self):
        if self.primary is None:
            self.primary = next(iter(self.metrics))

    def pretrain_of(self, arm: Arm) -> Optional[Arm]:
        """The stage 1 that ``arm``'s runs start from: the shared
        ``pretrain``, the arm's own (``per_arm``), or None."""
        if self.pretrain_per_arm is not None:
            return Arm(f'{PRETRAIN}-{arm.name}', arm.config,
                       {**self.pretrain_per_arm, **arm.cfg_options})
        return self.pretrain

    @property
    def pretrains(self) -> list:
        """Every stage 1 the arms start from (none, the shared one, or one
        per arm)."""
        if self.pretrain_per_arm is not None:
            return [self.pretrain_of(a) for a in self.arms]
        return [] if self.pretrain is None else [self.pretrain]

    @property
    def pretrain_seeds(self) -> list:
        """The seeds of the pretrain runs: one per seed, or the shared one."""
        if not self.pretrains:
            return []
        return list(self.seeds) if self.pretrain_seed is None else [self.pretrain_seed]

    def stage1_seed(self, seed: int) -> int:
        """The seed of the pretrain run whose checkpoint ``seed``'s arms load."""
        return seed if self.pretrain_seed is None else self.pretrain_seed

    def select_arms(self, names: list) -> None:
        """Keep the arms named in ``names`` and the baseline, and the
        contrasts between kept arms. Raises :class:`SpecError` naming any
        name that is not an arm."""
        unknown = sorted(set(names) - {a.name for a in self.arms})
        if unknown:
            raise SpecError(f'{unknown} not in {self.name} (arms: {[a.name for a in self.arms]})')
        self.arms = [a for a in self.arms if a.name in names or a.name == self.baseline]
        kept = {a.name for a in self.arms}
        self.contrasts = [c for c in self.contrasts if set(c) <= kept]

    def run_options(self, arm: Arm, seed: int, extra: Optional[dict] = None) -> dict:
        """The merged ``--cfg-options`` of one run (later keys win)."""
        options = {**self.schedule, **self.cfg_options, **arm.cfg_options, **(extra or {})}
        options['randomness.seed'] = int(seed)
        return options


def _plain(value):
    """ConfigDict/list values as plain dicts and lists."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def load_spec(path: str, repo_root: str = '.') -> ExperimentSpec:
    """Read and check a spec file; relative config paths are taken from
    ``repo_root``. Raises :class:`SpecError` naming the key at fault."""
    if not osp.isfile(path):
        raise SpecError(f'experiment spec {path} not found')
    cfg = Config.fromfile(path)

    def need(key: str, kind: type):
        if key not in cfg:
            raise SpecError(f'{path}: missing key {key!r}')
        value = _plain(cfg[key])
        if not isinstance(value, kind):
            raise SpecError(f'{path}: {key!r} must be a {kind.__name__}, got {value!r}')
        return value

    arms_cfg = need('arms', dict)
    if not arms_cfg:
        raise SpecError(f'{path}: arms is empty')
    def read_arm(key: str, name: str, arm) -> Arm:
        if not isinstance(arm, dict) or 'config' not in arm:
            raise SpecError(f"{path}: {key} needs a 'config' path")
        unknown = set(arm) - {'config', 'cfg_options'}
        if unknown:
            raise SpecError(f'{path}: {key} has unknown keys {sorted(unknown)}')
        config = arm['config']
        if not osp.isfile(osp.join(repo_root, config)):
            raise SpecError(f'{path}: {key}.config {config} not found')
        return Arm(name, config, dict(arm.get('cfg_options') or {}))

    arms = [read_arm(f'arms.{name}', name, arm) for name, arm in arms_cfg.items()]
    pretrain, per_arm = _plain(cfg.get('pretrain')), None
    if isinstance(pretrain, dict) and pretrain.get('per_arm'):
        unknown = set(pretrain) - {'per_arm', 'cfg_options'}
        if unknown:
            raise SpecError(f'{path}: pretrain with per_arm has unknown keys {sorted(unknown)} '
                            "(each arm's stage 1 trains the arm's own config)")
        pretrain, per_arm = None, dict(pretrain.get('cfg_options') or {})
    elif pretrain is not None:
        pretrain = read_arm('pretrain', PRETRAIN, pretrain)
    baseline = need('baseline', str)
    if baseline not in arms_cfg:
        raise SpecError(f'{path}: baseline {baseline!r} is not one of the arms '
                        f'{list(arms_cfg)}')
    seeds = need('seeds', list)
    if not seeds or not all(isinstance(s, int) for s in seeds) or len(set(seeds)) != len(seeds):
        raise SpecError(f'{path}: seeds must be distinct integers, got {seeds!r}')
    metrics = need('metrics', dict)
    bad = {k: v for k, v in metrics.items() if v not in DIRECTIONS}
    if not metrics or bad:
        raise SpecError(f"{path}: metrics must map names to 'higher' or 'lower', got {bad}")
    primary = need('primary', str)
    if primary not in metrics:
        raise SpecError(f'{path}: primary {primary!r} is not one of the metrics '
                        f'{list(metrics)}')
    val_points = _plain(cfg.get('val_points'))
    if val_points is not None and (not isinstance(val_points, int) or val_points < 2):
        raise SpecError(f'{path}: val_points must be an integer >= 2, got {val_points!r}')
    bounds = dict(_plain(cfg.get('bounds', {})))
    for name, bound in bounds.items():
        if (not isinstance(bound, (list, tuple)) or len(bound) != 2
                or not bound[0] < bound[1]):
            raise SpecError(f'{path}: bounds[{name!r}] must be (low, high), got {bound!r}')
    mechanism_samples = _plain(cfg.get('mechanism_samples'))
    if mechanism_samples is not None and (not isinstance(mechanism_samples, int)
                                          or mechanism_samples < 1):
        raise SpecError(f'{path}: mechanism_samples must be a positive integer, got '
                        f'{mechanism_samples!r}')
    contrasts = _plain(cfg.get('contrasts', []))
    names = list(arms_cfg)
    if not isinstance(contrasts, list) or not all(
            isinstance(c, list) and len(c) == 2 and c[0] != c[1] and set(c) <= set(names)
            for c in contrasts):
        raise SpecError(f'{path}: contrasts must be a list of (arm, reference) pairs of two '
                        f'different arms among {names}, got {contrasts!r}')
    pretrain_seed = _plain(cfg.get('pretrain_seed'))
    if pretrain_seed is not None and (pretrain is None and per_arm is None
                                      or not isinstance(pretrain_seed, int)
                                      or isinstance(pretrain_seed, bool)):
        raise SpecError(f'{path}: pretrain_seed must be an integer and needs a pretrain, got '
                        f'{pretrain_seed!r}')
    data = _plain(cfg.get('data'))
    if data is not None and (not isinstance(data, dict) or 'root' not in data):
        raise SpecError(f"{path}: data must be a dict with 'root' (and preset, num_train, "
                        f'num_val), got {data!r}')
    return ExperimentSpec(
        path=path, name=osp.splitext(osp.basename(path))[0], description=_docstring(path),
        arms=arms, baseline=baseline, seeds=list(seeds), metrics=metrics,
        schedule=dict(_plain(cfg.get('schedule', {}))),
        cfg_options=dict(_plain(cfg.get('cfg_options', {}))),
        curves=list(_plain(cfg.get('curves', []))), data=data, pretrain=pretrain,
        primary=primary, val_points=val_points, mechanism_samples=mechanism_samples,
        contrasts=[tuple(c) for c in contrasts], pretrain_seed=pretrain_seed,
        pretrain_per_arm=per_arm,
        bounds={k: tuple(map(float, v)) for k, v in bounds.items()})


def _docstring(path: str) -> str:
    with open(path) as f:
        return ast.get_docstring(ast.parse(f.read())) or ''
