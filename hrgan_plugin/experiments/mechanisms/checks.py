"""The mechanism checks of a finished training run, on its val set: the
run's dumped config and last checkpoint in, ``{check_name: value}`` out,
holding the checks that apply to the run's model and hooks:

- HRGAN (an ``AdversarialTopdownPoseEstimator``): :mod:`.plausibility`;
- ASR (an ``AdversarialAugmentationHook`` with an ASR share in ``split``):
  :mod:`.asr`;
- AHO (the hook with an AHO share): :mod:`.aho`.

A plain pose model without the hook gets ``{}``.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmpose.datasets.transforms import GetBBoxCenterScale, TopdownAffine
from mmpose.registry import DATASETS, HOOKS, MODELS
from torch.utils.data import DataLoader

from ...datasets.pipeline_utils import insert_after, pack_for_recrop, pipeline_datasets
from ...datasets.transforms.recrop_context import CONTEXT_KEY
from ...engine.hooks.augmentation_setup import DEFAULT_MODULES
from ...engine.hooks.pose_net_taps import PoseNetTaps
from ...engine.hooks.recrop_batch import RecropBatch
from ...models.augmentation.context_warp import ContextWarp
from ...models.augmentation.hardness import sample_keypoints
from ...models.pose_estimators import AdversarialTopdownPoseEstimator
from ...utils.checkpoint_match import load_matching_weights
from ...utils.model_wrappers import unwrap_model
from ...utils.preflight import check_data_paths
from .aho import OcclusionCheck
from .asr import RankCorrelationCheck
from .plausibility import PlausibilityCheck

HOOK = 'AdversarialAugmentationHook'


class MechanismCheckError(ValueError):
    """A run's config, checkpoint or val set cannot give the checks the run
    calls for; the message names the file and the key at fault."""


@dataclass
class CheckSettings:
    """How the checks run: ``device``, val images per batch, the first
    ``max_samples`` val samples only (None: all), and the random AHO
    occlusions (``draws`` per person from ``seed``)."""

    device: str = 'cpu'
    batch_size: int = 32
    max_samples: Optional[int] = None
    draws: int = 5
    seed: int = 0


def augmentation_hook_cfg(cfg: Config, config: str) -> Optional[dict]:
    """The run's ``AdversarialAugmentationHook`` entry of ``custom_hooks``,
    or None."""
    hooks = [h for h in cfg.get('custom_hooks') or [] if h.get('type') == HOOK]
    if len(hooks) > 1:
        raise MechanismCheckError(f"'{config}': custom_hooks holds {len(hooks)} {HOOK} entries; "
                                  'the mechanism checks read one')
    return copy.deepcopy(dict(hooks[0])) if hooks else None


def hook_state(checkpoint: str, config: str) -> dict:
    """The augmentation hook's saved state (``hook_states[HOOK]``) of
    ``checkpoint``: its net's input widths and weights."""
    ckpt = torch.load(checkpoint, map_location='cpu')
    state = (ckpt.get('hook_states') or {}).get(HOOK)
    if state is None:
        raise MechanismCheckError(
            f"checkpoint '{checkpoint}' has no hook_states['{HOOK}'], which config '{config}' "
            f'(custom_hooks: {HOOK}) calls for: the run ended before its augmentation net was '
            'built (still in pose pre-training?) or the checkpoint was not written by this run')
    missing = [k for k in ('in_channels', 'aug_net') if k not in state]
    if missing:
        raise MechanismCheckError(f"checkpoint '{checkpoint}': hook_states['{HOOK}'] lacks "
                                  f'{missing}')
    return state


def load_augmentation_net(hook, state: dict, checkpoint: str,
                          device: torch.device) -> torch.nn.Module:
    """The hook's augmentation net with the checkpoint's weights, in eval mode."""
    net = hook.augmenter.build_net(list(state['in_channels']))
    try:
        net.load_state_dict(state['aug_net'])
    except RuntimeError as err:
        first = str(err).splitlines()[0]
        raise MechanismCheckError(f"checkpoint '{checkpoint}': hook_states['{HOOK}']['aug_net'] "
                                  f"does not fit the config's {HOOK}.aug_net: {first}") from None
    return net.to(device).eval()


def tap_modules(hook, model, config: str) -> tuple[list[str], list[str]]:
    """The modules the augmentation net reads and AHO occludes: the hook's
    ``feature_modules``/``mask_modules``, or its defaults for the backbone."""
    backbone = unwrap_model(model.backbone)
    defaults = DEFAULT_MODULES.get(type(backbone).__name__, (None, None))
    features, masks = defaults(backbone) if callable(defaults) else defaults
    features, masks = hook.feature_modules or features, hook.mask_modules or masks
    if not features or not masks:
        raise MechanismCheckError(f"'{config}': {HOOK} has no default modules for backbone "
                                  f'{type(backbone).__name__}; set feature_modules and '
                                  'mask_modules')
    return list(features), list(masks)


def val_dataset(cfg: Config, settings: CheckSettings, config: str):
    """The run's val dataset (its first ``max_samples``), packing each
    sample's keypoints in input pixels; it must hold labelled keypoints."""
    check_data_paths(cfg, ('val_dataloader', ))
    ds_cfg = copy.deepcopy(cfg.val_dataloader.dataset)
    if settings.max_samples is not None:
        ds_cfg['indices'] = settings.max_samples
    dataset = DATASETS.build(ds_cfg)
    if not any(np.any(np.asarray(dataset.get_data_info(i)['keypoints_visible']) > 0)
               for i in range(len(dataset))):
        raise MechanismCheckError(
            f"'{config}': val_dataloader.dataset holds no labelled keypoint in the "
            f'{len(dataset)} samples read (person boxes from a bbox_file of detections carry '
            'none); point it at the ground-truth boxes (bbox_file=None)')
    pack_for_recrop(dataset)
    return dataset


def input_size(dataset, config: str) -> tuple[int, int]:
    """``(w, h)`` of the val pipeline's ``TopdownAffine``."""
    for ds in pipeline_datasets(dataset):
        for t in getattr(getattr(ds, 'pipeline', None), 'transforms', []):
            if isinstance(t, TopdownAffine):
                return tuple(t.input_size)
    raise MechanismCheckError(f"'{config}': val_dataloader.dataset.pipeline has no TopdownAffine")


@dataclass
class ValBatch:
    """One batch of val persons as the checks read it: ``images``
    ``(N, C, h, w)`` (8-bit values, on the model's device), the packed
    ``samples``, ground-truth ``keypoints`` ``(N, K, 2)`` and ``bbox_size``
    ``(N,)`` in input pixels, ``visible`` ``(N, K)``, and ``input_size``
    ``(w, h)``."""

    images: torch.Tensor
    samples: list
    keypoints: torch.Tensor
    visible: torch.Tensor
    bbox_size: torch.Tensor
    input_size: tuple[int, int]

    @classmethod
    def collate(cls, batch: dict, device: torch.device) -> ValBatch:
        samples = batch['data_samples']
        kpts, vis, size = (t.to(device) for t in sample_keypoints(samples))
        return cls(torch.stack(batch['inputs']).to(device), samples, kpts, vis, size,
                   tuple(samples[0].metainfo['input_size']))


def run_mechanism_checks(config: str, checkpoint: str,
                         settings: Optional[CheckSettings] = None) -> dict[str, float]:
    """The mechanism checks that apply to the run of ``config`` (a dumped
    training config) at ``checkpoint``, computed on its val set."""
    settings = settings or CheckSettings()
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    model = MODELS.build(cfg.model)
    hrgan = isinstance(model, AdversarialTopdownPoseEstimator)
    hook_cfg = augmentation_hook_cfg(cfg, config)
    hook = HOOKS.build(hook_cfg) if hook_cfg is not None else None
    asr = hook is not None and hook.split[1] > 0
    aho = hook is not None and hook.split[2] > 0
    if not (hrgan or asr or aho):
        return {}
    load_matching_weights(model, checkpoint, config)
    device = torch.device(settings.device)
    model.to(device).eval()
    dataset = val_dataset(cfg, settings, config)
    feeds: list[Callable[[ValBatch], None]] = []
    checks = []
    if hrgan:
        plausibility = PlausibilityCheck(model, dataset.metainfo)
        feeds.append(lambda b: plausibility.update(b.images, b.samples, b.keypoints, b.visible))
        checks.append(plausibility)
    if asr or aho:
        net = load_augmentation_net(hook, hook_state(checkpoint, config), checkpoint, device)
        features, masks = tap_modules(hook, model, config)
        taps = PoseNetTaps(model, features, masks, hook.augmenter.occlusion_grid,
                           hook.eval_batch_size)
        judge = hook._pck_judge(dataset.metainfo)
    if asr:
        cut = hook._recrop_context(input_size(dataset, config))
        insert_after(dataset, GetBBoxCenterScale, cut)
        pack_for_recrop(dataset, (CONTEXT_KEY, ))
        warp = ContextWarp(cut.input_size, cut.side, cut.zoom)
        ranks = RankCorrelationCheck(net, taps, warp, judge, hook.augmenter)
        feeds.append(lambda b: ranks.update(RecropBatch.from_samples(b.samples, device)))
        checks.append(ranks)
    if aho:
        occlusion = OcclusionCheck(net, taps, judge, hook.augmenter.occlusion_grid,
                                   hook.augmenter.max_occluded_cells, settings.draws,
                                   settings.seed)
        feeds.append(lambda b: occlusion.update(b.images, b.keypoints, b.visible, b.bbox_size,
                                                b.input_size))
        checks.append(occlusion)
    loader = DataLoader(dataset, batch_size=settings.batch_size, shuffle=False,
                        collate_fn=pseudo_collate)
    for batch in loader:
        val_batch = ValBatch.collate(batch, device)
        for feed in feeds:
            feed(val_batch)
    results: dict[str, float] = {}
    for check in checks:
        results.update(check.result())
    return results
