"""Adversarial data augmentation (ASR + AHO) for any top-down heatmap model:
the runner side of :class:`~hrgan_plugin.models.augmentation.AdversarialAugmenter`."""
from __future__ import annotations

import json
import os.path as osp
from collections.abc import Sequence
from typing import Optional

import torch
from mmengine.dist import all_reduce_params, broadcast, get_rank, is_main_process
from mmengine.hooks import Hook
from mmengine.registry import OPTIMIZERS
from mmpose.registry import HOOKS
from torch import Tensor

from ...datasets.pipeline_utils import pack_transformed_keypoints
from ...models.augmentation.adversarial_augmenter import (
    DISTRIBUTIONS,
    AdversarialAugmenter,
    Proposal,
    per_sample_loss,
    scale_rotate_samples,
)
from ...models.augmentation.distributions import entropy
from ...models.augmentation.occlusion import apply_masks
from ...utils.batch_norm import frozen_bn_statistics
from ...utils.errors import TrainingAborted
from ...utils.model_wrappers import heatmap_output_layer, resolve_module, unwrap_model
from ...visualization import plot_distributions
from .hook_state import CheckpointStateMixin


class FeatureGridError(TrainingAborted):
    """The configured feature maps are coarser than the occlusion grid."""


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


@HOOKS.register_module()
class AdversarialAugmentationHook(CheckpointStateMixin, Hook):
    """Adversarial scale/rotation (ASR) and hierarchical occlusion (AHO)
    augmentation learned online against the pose network (Peng et al., CVPR
    2018, Algorithm 1), for any mmpose top-down heatmap model.

    Every training batch is split into random / ASR / AHO parts (``split``).
    Before the step, the ASR and AHO images go through the pose network once
    without gradients (their random-augmentation reference, BN running
    statistics untouched); the augmentation network reads the (detached)
    features of that pass and predicts the scale, rotation and occlusion
    distributions.  ASR images are then scaled and rotated (bins sampled from
    the distributions, values from the bins' bounded Gaussians) together with
    their keypoints, and their targets regenerated with the model's codec;
    AHO images get 1-2 grid cells occluded in the configured feature maps
    during the training forward only.  After the step the pose loss of each
    adversarial sample is compared with its reference: harder samples reward
    the sampled bins, easier ones penalise them (``alpha``/``beta``, clipping
    to ``[0, 2/k]``), and the augmentation network is trained towards the
    resulting targets by KL divergence with its own optimiser.  During the
    first ``pretrain_iters`` iterations bins and cells are drawn uniformly and
    the targets are the accumulated pose losses over the scale x rotation
    bins (ASR) and each image's histogram of joints over the grid (AHO).

    The network's gradients and BN statistics are averaged over ranks and its
    initial weights broadcast from rank 0, so every rank holds the same
    augmentation network; each rank draws its own bins and cells.
    Its weights, optimiser, phase and accumulators are saved in checkpoints
    and restored on ``--resume`` (not by ``load_from``).
    Logged: ``aug_entropy_{scale,rotation,occlusion}``, ``aug_kl``,
    ``aug_harder`` (fraction of adversarial samples harder than their
    reference); ``<work_dir>/adversarial_augmentation.jsonl`` gets the mean
    distributions every ``log_interval`` iterations and
    ``adversarial_augmentation.png`` their evolution at the end.

    The train pipeline's ``PackPoseInputs`` is switched to
    ``pack_transformed=True`` (ASR needs the input-space keypoints).

    Args:
        aug_net, scale_bins, rotation_bins, occlusion_grid, max_occluded_cells,
            alpha, beta, clip: the augmenter's settings, see
            :class:`~hrgan_plugin.models.augmentation.AdversarialAugmenter`.
        optimizer (dict): its optimiser. Defaults to RMSprop 5e-5 (released code).
        split (Sequence[float]): relative sizes of the random, ASR and AHO
            parts of each batch. Defaults to (1, 1, 1).
        pretrain_iters (int): iterations of the pre-training phase. Defaults to 500.
        feature_modules (list[str], optional): modules whose outputs the
            augmentation net reads; defaults per backbone in ``DEFAULT_MODULES``.
        mask_modules (list[str], optional): modules whose outputs AHO occludes.
        log_interval (int): iterations between jsonl lines. Defaults to 50.
    """

    priority = 'NORMAL'  # before LoggerHook reads this iteration's scalars

    def __init__(self,
                 aug_net: dict = dict(type='AugmentationNet'),
                 optimizer: dict = dict(type='RMSprop', lr=5e-5),
                 split: Sequence[float] = (1, 1, 1),
                 scale_bins: dict = dict(num=7, range=(-0.6, 0.6), sigma=0.05),
                 rotation_bins: dict = dict(num=9, range=(-60.0, 60.0), sigma=5.0),
                 occlusion_grid: Sequence[int] = (4, 4),
                 max_occluded_cells: int = 2,
                 alpha: float = 0.2,
                 beta: float = 0.5,
                 clip: bool = True,
                 pretrain_iters: int = 500,
                 feature_modules: Optional[list[str]] = None,
                 mask_modules: Optional[list[str]] = None,
                 log_interval: int = 50,
                 out_file: str = 'adversarial_augmentation.jsonl',
                 plot_file: str = 'adversarial_augmentation.png') -> None:
        if len(split) != 3 or min(split) < 0 or sum(split) <= 0:
            raise ValueError(f'split must be 3 non-negative weights (random, ASR, AHO), '
                             f'got {split}')
        self.augmenter = AdversarialAugmenter(aug_net, scale_bins, rotation_bins, occlusion_grid,
                                              max_occluded_cells, alpha, beta, clip)
        self.optimizer_cfg = dict(optimizer)
        self.split = tuple(float(s) for s in split)
        self.pretrain_iters = pretrain_iters
        self.feature_modules = feature_modules
        self.mask_modules = mask_modules
        self.log_interval = log_interval
        self.out_file, self.plot_file = out_file, plot_file
        self.optimizer: Optional[torch.optim.Optimizer] = None
        self.iters_done = 0
        self._features: Optional[list[Tensor]] = None
        self._masks: Optional[tuple[Tensor, Tensor]] = None
        self._pred: Optional[Tensor] = None
        self._capture_pred = False
        self._ctx: Optional[dict] = None
        self._pending_state: Optional[dict] = None

    # ------------------------------------------------------------ set-up
    @property
    def pretraining(self) -> bool:
        return self.iters_done < self.pretrain_iters

    def before_train(self, runner) -> None:
        model = unwrap_model(runner.model)
        head = unwrap_model(model.head)
        self.codec = getattr(head, 'decoder', None)
        if self.codec is None:
            raise ValueError('AdversarialAugmentationHook needs the head to have a `decoder` '
                             '(the codec used to regenerate ASR targets)')
        backbone_module = unwrap_model(model.backbone)
        backbone = type(backbone_module).__name__
        defaults = DEFAULT_MODULES.get(backbone, (None, None))
        features, masks = defaults(backbone_module) if callable(defaults) else defaults
        self.feature_modules = self.feature_modules or features
        self.mask_modules = self.mask_modules or masks
        if not self.feature_modules or not self.mask_modules:
            raise ValueError(f'AdversarialAugmentationHook has no default modules for backbone '
                             f'{backbone}; set feature_modules and mask_modules')
        for key, names, hook in (('feature_modules', self.feature_modules, self._capture_features),
                                 ('mask_modules', self.mask_modules, self._apply_masks)):
            for name in names:
                try:
                    resolve_module(model, name).register_forward_hook(hook)
                except KeyError as e:
                    raise KeyError(f'AdversarialAugmentationHook.{key}: {e.args[0]}') from None
        heatmap_output_layer(head).register_forward_hook(self._capture_prediction)
        pack_transformed_keypoints(runner.train_dataloader.dataset)
        self.device = next(model.parameters()).device
        if self._pending_state is not None:
            self._build(self._pending_state['in_channels'])
            self._load(self._pending_state)

    def _build(self, in_channels: list[int]) -> None:
        net = self.augmenter.build_net(in_channels).to(self.device)
        for p in net.state_dict().values():
            broadcast(p, 0)  # identical augmentation net on every rank
        self.optimizer = OPTIMIZERS.build(dict(self.optimizer_cfg, params=net.parameters()))

    # ------------------------------------------------------- forward hooks
    def _capture_features(self, module, args, output) -> None:
        if self._features is not None:
            outs = output if isinstance(output, (list, tuple)) else [output]
            self._features += [o.detach() for o in outs]

    def _apply_masks(self, module, args, output):
        if self._masks is None:
            return None
        rows, masks = self._masks
        outs = output if isinstance(output, (list, tuple)) else [output]
        self._check_grid('mask_modules', outs)
        if isinstance(output, (list, tuple)):
            return type(output)(apply_masks(o, masks, rows) for o in output)
        return apply_masks(output, masks, rows)

    def _check_grid(self, key: str, maps: list[Tensor]) -> None:
        """Every feature map must have at least one pixel per occlusion-grid
        cell, or cells vanish from the masks and the net's grid."""
        gw, gh = self.augmenter.occlusion_grid
        small = [tuple(m.shape[-2:]) for m in maps if m.shape[-2] < gh or m.shape[-1] < gw]
        if small:
            raise FeatureGridError(
                f'AdversarialAugmentationHook.{key}: feature maps of size {small[0]} (h, w) are '
                f'smaller than occlusion_grid {(gw, gh)} (w, h); choose modules of a finer '
                f'stride in {key}, or a coarser occlusion_grid')

    def _capture_prediction(self, module, args, output) -> None:
        if self._capture_pred:
            self._pred = output.detach()

    # --------------------------------------------------------- iteration
    def _split_rows(self, batch_size: int) -> tuple[list[int], list[int]]:
        total = sum(self.split)
        n_asr = int(round(batch_size * self.split[1] / total))
        n_aho = int(round(batch_size * self.split[2] / total))
        n_aho = min(n_aho, batch_size - n_asr)
        start = batch_size - n_asr - n_aho
        return list(range(start, start + n_asr)), list(range(start + n_asr, batch_size))

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        inputs, samples = data_batch['inputs'], data_batch['data_samples']
        asr_rows, aho_rows = self._split_rows(len(inputs))
        adv_rows = asr_rows + aho_rows
        if not adv_rows:
            self._ctx = None
            return
        model = unwrap_model(runner.model)
        ref = model.data_preprocessor(
            dict(inputs=[inputs[r] for r in adv_rows], data_samples=[samples[r] for r in adv_rows]),
            True)
        gt, weight = self._targets(ref['data_samples'])
        self._features = []
        with torch.no_grad(), frozen_bn_statistics(model):
            preds = model.head(model.extract_feat(ref['inputs']))
        features, self._features = self._features, None
        self._check_grid('feature_modules', features)
        pred = preds[-1] if isinstance(preds, (list, tuple)) else preds
        ref_loss = per_sample_loss(pred, gt, weight)
        if self.augmenter.net is None:
            self._build([f.shape[1] for f in features])
        proposal = self.augmenter.propose(features, len(asr_rows), self.pretraining,
                                          self._rank_generator())
        scale_rotate_samples(inputs, samples, asr_rows, proposal.scale, proposal.angle,
                             self.codec, self.device)
        self._masks = (torch.tensor(aho_rows, dtype=torch.long), proposal.masks.to(self.device))
        self._capture_pred = True
        self._ctx = dict(rows=adv_rows, ref_loss=ref_loss.cpu(), proposal=proposal,
                         ref_samples=ref['data_samples'])

    @staticmethod
    def _rank_generator() -> torch.Generator:
        """This iteration's sampling stream for this rank.

        Ranks share the global seed, so drawing from the global generator would
        give every rank the same bins and cells; a seed drawn from it (the same
        draw on every rank, and restored with it on resume) offset by the rank
        gives each rank its own, reproducible choices."""
        seed = int(torch.randint(2**62, ()))
        return torch.Generator().manual_seed(seed + get_rank())

    def _targets(self, samples) -> tuple[Tensor, Tensor]:
        gt = torch.stack([s.gt_fields.heatmaps for s in samples]).to(self.device)
        weight = torch.cat([s.gt_instance_labels.keypoint_weights for s in samples])
        return gt, weight.to(self.device)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        self._masks, self._capture_pred = None, False
        ctx, self._ctx = self._ctx, None
        if ctx is None:
            return
        rows, proposal = ctx['rows'], ctx['proposal']
        gt, weight = self._targets([data_batch['data_samples'][r] for r in rows])
        adv_loss = per_sample_loss(self._pred[rows], gt, weight).cpu()
        self._pred = None
        harder = adv_loss > ctx['ref_loss']
        if self.pretraining:
            counts = list(self.augmenter.pretrain_counts(proposal, adv_loss[:proposal.n_asr]))
            all_reduce_params(counts, op='sum')
            self.augmenter.accumulate(*counts)
            targets = self.augmenter.pretrain_targets(len(rows), ctx['ref_samples'])
        else:
            targets = self.augmenter.adversarial_targets(proposal, harder)
        kl = self.augmenter.kl_loss(proposal, targets)
        net = self.augmenter.net
        self.optimizer.zero_grad()
        kl.backward()
        all_reduce_params([p.grad for p in net.parameters() if p.grad is not None], op='mean')
        self.optimizer.step()
        # BN statistics: the ranks' mean, as SyncBuffersHook
        all_reduce_params([b for b in net.buffers() if b.is_floating_point()], op='mean')
        phase = 'pretrain' if self.pretraining else 'joint'
        self.iters_done += 1
        self._log(runner, proposal, float(kl.detach()), harder, phase)

    # ------------------------------------------------------------ logging
    def _log(self, runner, proposal: Proposal, kl: float, harder: Tensor, phase: str) -> None:
        means = {k: v.mean(0).to(self.device) for k, v in proposal.probs.items()}
        stats = torch.tensor([kl, harder.float().mean().item()], device=self.device)
        all_reduce_params([*means.values(), stats], op='mean')
        hub = runner.message_hub
        for k in DISTRIBUTIONS:
            hub.update_scalar(f'train/aug_entropy_{k}', float(entropy(means[k])))
        hub.update_scalar('train/aug_kl', float(stats[0]))
        hub.update_scalar('train/aug_harder', float(stats[1]))
        if is_main_process() and (runner.iter + 1) % self.log_interval == 0:
            line = dict(iter=runner.iter + 1, phase=phase,
                        **{k: [round(float(p), 6) for p in means[k].cpu()]
                           for k in DISTRIBUTIONS})
            with open(osp.join(runner.work_dir, self.out_file), 'a') as f:
                f.write(json.dumps(line) + '\n')

    def after_train(self, runner) -> None:
        if is_main_process():
            plot_distributions(osp.join(runner.work_dir, self.out_file),
                               osp.join(runner.work_dir, self.plot_file),
                               self.augmenter.occlusion_grid)

    # --------------------------------------------------------- checkpoint
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        aug = self.augmenter
        if aug.net is None:
            return
        self.save_state(runner, checkpoint, dict(
            in_channels=aug.in_channels, aug_net=aug.net.state_dict(),
            optimizer=self.optimizer.state_dict(), iters_done=self.iters_done,
            loss_sum=aug.loss_sum.clone(), loss_count=aug.loss_count.clone()))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = self.resumed_state(runner, checkpoint)  # load_from: a fresh augmenter
        if state is not None:
            self._pending_state = state  # built in before_train, once the device is known

    def _load(self, state: dict) -> None:
        self.augmenter.net.load_state_dict(state['aug_net'])
        self.optimizer.load_state_dict(state['optimizer'])
        self.iters_done = int(state['iters_done'])
        self.augmenter.loss_sum.copy_(state['loss_sum'])
        self.augmenter.loss_count.copy_(state['loss_count'])
        self._pending_state = None

