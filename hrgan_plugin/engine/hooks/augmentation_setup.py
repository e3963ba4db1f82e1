"""What :class:`AdversarialAugmentationHook` sets up before training (the
pose net's taps, the re-crop contexts in the loader's workers, the PCK
judge) and how it reports (message hub, jsonl, plot)."""
from __future__ import annotations

import json
import os.path as osp

import torch
from mmengine.dist import all_reduce_params, is_main_process
from mmengine.runner.loops import IterBasedTrainLoop, _InfiniteDataloaderIterator
from mmpose.datasets.transforms import GetBBoxCenterScale
from torch import Tensor

from ...datasets.pipeline_utils import insert_after, pack_for_recrop
from ...datasets.topdown_recrop import TopdownRecrop
from ...datasets.transforms.recrop_context import CONTEXT_KEY, RecropContext
from ...models.augmentation.adversarial_augmenter import DISTRIBUTIONS
from ...models.augmentation.context_warp import ContextWarp
from ...models.augmentation.distributions import entropy
from ...utils.errors import TrainingAborted
from ...utils.model_wrappers import unwrap_model
from ...visualization import plot_distributions
from .pose_net_taps import PoseNetTaps
from .recrop_batch import PCKJudge


def hourglass_bridges(stack: int, depth: int) -> list[str]:
    """The bridge features of one hourglass of :class:`HRUHourglassNet`:
    the skip branch of every level (finest first) and the neck."""
    prefix = f'backbone.hourglasses.{stack}'
    return [prefix + '.low2' * level + '.up1' for level in range(depth)] + [
        prefix + '.low2' * depth]


def _hourglass_modules(backbone) -> tuple[list[str], list[str]]:
    """Peng et al.: the net reads the first hourglass's bridge features;
    AHO occludes the bridge features of every stack with the same mask."""
    depth = backbone.hourglasses[0].depth
    masks = [m for s in range(backbone.num_stacks) for m in hourglass_bridges(s, depth)]
    return hourglass_bridges(0, depth), masks


#: (features read by the augmentation net, features occluded by AHO) per
#: backbone type, or a function of the backbone giving them
DEFAULT_MODULES = {
    'HRNet': (['backbone.stage3'], ['backbone.stage2']),
    'HRUHourglassNet': _hourglass_modules,
    'ResNet': (['backbone.layer2', 'backbone.layer3', 'backbone.layer4'], ['backbone.layer1']),
}


class NondeterministicCudaError(TrainingAborted):
    """Deterministic algorithms were asked for on CUDA, which the
    augmentation net's backward does not have."""


def restart_loader_workers(loop) -> None:
    """An ``IterBasedTrainLoop`` starts its loader's workers when it is
    built, before any hook runs, so they hold the pipeline as it was then:
    shut them down and start them again (they then see the hook's changes).
    The loop advances the new iterator itself when resuming."""
    if not isinstance(loop, IterBasedTrainLoop):
        return  # an epoch-based loop starts its workers in each epoch
    loader = loop.dataloader
    old = loop.dataloader_iterator._iterator
    if hasattr(old, '_shutdown_workers'):
        old._shutdown_workers()
    if getattr(loader, '_iterator', None) is not None:  # persistent workers
        loader._iterator = None
    loop.dataloader_iterator = _InfiniteDataloaderIterator(loader)


class AugmentationSetupMixin:
    """Set-up and reporting of :class:`AdversarialAugmentationHook`."""

    def set_up(self, runner) -> None:
        model = unwrap_model(runner.model)
        backbone_module = unwrap_model(model.backbone)
        backbone = type(backbone_module).__name__
        defaults = DEFAULT_MODULES.get(backbone, (None, None))
        features, masks = defaults(backbone_module) if callable(defaults) else defaults
        self.feature_modules = self.feature_modules or features
        self.mask_modules = self.mask_modules or masks
        if not self.feature_modules or not self.mask_modules:
            raise ValueError(f'AdversarialAugmentationHook has no default modules for backbone '
                             f'{backbone}; set feature_modules and mask_modules')
        self.taps = PoseNetTaps(model, self.feature_modules, self.mask_modules,
                                self.augmenter.occlusion_grid, self.eval_batch_size)
        dataset = runner.train_dataloader.dataset
        self.recrop = TopdownRecrop(dataset)
        cut = self._recrop_context(self.recrop.input_size)
        self.warp = ContextWarp(cut.input_size, cut.side, cut.zoom)
        insert_after(dataset, GetBBoxCenterScale, cut)
        pack_for_recrop(dataset, (CONTEXT_KEY,))
        restart_loader_workers(getattr(runner, 'train_loop', None))
        self.judge = self._pck_judge(self.recrop.dataset.metainfo)
        self.device = next(model.parameters()).device
        self.refuse_nondeterministic_cuda()
        if self._pending_state is not None:
            self._build(self._pending_state['in_channels'])
            self._load(self._pending_state)

    def _min_scale(self) -> float:
        """The smallest content scale of a bin or a reference."""
        bins = self.augmenter.scale_bins
        low = min(float(bins.centres[0]) - bins.sigma, -self.augmenter.reference['scale_bound'])
        return float(2.0 ** low)

    def _recrop_context(self, input_size) -> RecropContext:
        """The loader-side transform: contexts for every content scale a bin
        or a reference takes, at ``context_zoom`` (default: the largest)."""
        bins = self.augmenter.scale_bins
        high = max(float(bins.centres[-1]) + bins.sigma, self.augmenter.reference['scale_bound'])
        zoom = self.context_zoom or float(2.0 ** high)
        return RecropContext(input_size, self._min_scale(), zoom)

    def _pck_judge(self, metainfo: dict) -> PCKJudge:
        """The PCK's normaliser and ignored keypoints, by name."""
        ids = {name: i for i, name in metainfo['keypoint_id2name'].items()}
        dataset = metainfo.get('dataset_name', 'the train dataset')
        head_ids = None
        if self.hardness_norm == 'head':
            missing = [k for k in ('upper_neck', 'head_top') if k not in ids]
            if missing:
                raise ValueError(f"AdversarialAugmentationHook.hardness_norm='head' needs the "
                                 f'keypoints {missing}, which {dataset} lacks; use '
                                 f"hardness_norm='bbox'")
            head_ids = (ids['upper_neck'], ids['head_top'])
        if self.hardness_ignore is None:
            ignore = [ids[k] for k in ('pelvis', 'thorax') if k in ids]
        else:
            unknown = [k for k in self.hardness_ignore if k not in ids]
            if unknown:
                raise ValueError(f'AdversarialAugmentationHook.hardness_ignore: {dataset} has no '
                                 f'keypoints {unknown} (it has {sorted(ids)})')
            ignore = [ids[k] for k in self.hardness_ignore]
        return PCKJudge(self.hardness_thr, self.hardness_norm, head_ids, ignore)

    def refuse_nondeterministic_cuda(self) -> None:
        """``randomness.deterministic=True`` (or ``EpochSeedHook(
        deterministic=True)``) makes torch raise in the augmentation net's
        CUDA backward: stop first, with one line."""
        if torch.are_deterministic_algorithms_enabled() and self.device.type == 'cuda':
            raise NondeterministicCudaError(
                'AdversarialAugmentationHook: deterministic algorithms are enabled, but the '
                "augmentation net's CUDA backward has none (adaptive_avg_pool2d_backward_cuda, "
                'upsample_bilinear2d_backward_out_cuda, and cuBLAS without '
                'CUBLAS_WORKSPACE_CONFIG); set randomness.deterministic=False and '
                'EpochSeedHook(deterministic=False): seeded runs then repeat up to '
                "CUDA's floating-point order")

    def _log(self, runner, probs: dict, kl: float, harder: Tensor | None, phase: str) -> None:
        means = {k: v.mean(0).to(self.device) for k, v in probs.items()}
        share = float('nan') if harder is None else harder.float().mean().item()
        stats = torch.tensor([kl, share], device=self.device)
        all_reduce_params([*means.values(), stats], op='mean')
        hub = runner.message_hub
        for k in DISTRIBUTIONS:
            hub.update_scalar(f'train/aug_entropy_{k}', float(entropy(means[k])))
        hub.update_scalar('train/aug_kl', float(stats[0]))
        if harder is not None:
            hub.update_scalar('train/aug_harder', float(stats[1]))
        if is_main_process() and self.updates % self.log_interval == 0:
            line = dict(iter=runner.iter + (phase == 'joint'), update=self.updates, phase=phase,
                        **{k: [round(float(p), 6) for p in means[k].cpu()]
                           for k in DISTRIBUTIONS})
            with open(osp.join(runner.work_dir, self.out_file), 'a') as f:
                f.write(json.dumps(line) + '\n')

    def after_train(self, runner) -> None:
        if is_main_process():
            plot_distributions(osp.join(runner.work_dir, self.out_file),
                               osp.join(runner.work_dir, self.plot_file),
                               self.augmenter.occlusion_grid)
