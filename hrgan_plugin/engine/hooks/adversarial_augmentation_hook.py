"""Adversarial data augmentation (ASR + AHO) for any top-down heatmap model:
the runner side of :class:`~hrgan_plugin.models.augmentation.AdversarialAugmenter`."""
from __future__ import annotations

import json
import os.path as osp
from collections.abc import Sequence
from typing import Optional

import numpy as np
import torch
from mmengine.dist import all_reduce_params, broadcast, get_rank, is_main_process
from mmengine.hooks import Hook
from mmengine.registry import OPTIMIZERS
from mmengine.runner import IterBasedTrainLoop
from mmpose.registry import HOOKS
from torch import Tensor

from ...datasets.pipeline_utils import pack_for_recrop
from ...datasets.topdown_recrop import TopdownRecrop
from ...models.augmentation.adversarial_augmenter import DISTRIBUTIONS, AdversarialAugmenter
from ...models.augmentation.distributions import entropy, joint_histogram
from ...models.augmentation.hardness import (
    PCK_NORMS,
    bin_hardness_targets,
    harder_than,
    heatmap_argmax,
    person_pck,
)
from ...models.augmentation.occlusion import apply_masks, grid_masks
from ...utils.errors import TrainingAborted
from ...utils.model_wrappers import resolve_module, unwrap_model
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
    augmentation learned against the pose network (Peng et al., CVPR 2018,
    Sec. 5.1 and Algorithm 1), for any mmpose top-down heatmap model, in the
    paper's three stages:

    1. ``pose_pretrain_epochs`` epochs of plain training with the pipeline's
       random augmentation (the hook does nothing; 0 when ``load_from`` gives
       a trained pose net).
    2. ``agent_pretrain_iters`` iterations in which the pose net is frozen
       (eval mode, no update) and the augmentation net learns, at
       ``agent_pretrain_lr``, per-image targets: each image re-cropped at
       every scale-bin centre (rotation 0) and every rotation-bin centre
       (scale 1), ``1 - PCK`` of the frozen net normalised over the bins; the
       occlusion target is the dataset's joint histogram over the grid.
    3. Joint training: every batch is split into random / ASR / AHO rows
       (``split``). The augmentation net reads the pose net's (detached)
       features of each ASR image's canonical crop and each AHO sample, and
       draws a scale, a rotation and 1-2 occluded cells. ASR rows are
       replaced by re-crops of the original image at the drawn scale and
       rotation (:class:`~hrgan_plugin.datasets.topdown_recrop.TopdownRecrop`);
       AHO rows are occluded in every ``mask_modules`` feature map during the
       training forward. Each adversarial draw is judged against an
       independent random augmentation of the same image (``reference``; with
       ``separate_scale_rotation``, scale-only against scale-only and
       rotation-only against rotation-only; a random occlusion for AHO) by the
       per-person PCK of the pose net in eval mode: harder samples reward the
       drawn bins, the others penalise them (``alpha``/``beta``, clipping to
       ``[0, 2/k]``), and the augmentation net is trained towards those
       targets by KL divergence with its own optimiser (``optimizer``).

    The network's gradients and BN statistics are averaged over ranks and its
    initial weights broadcast from rank 0, so every rank holds the same
    augmentation network; each rank draws its own bins and cells. Its
    weights, optimiser and stage are saved in checkpoints and restored on
    ``--resume`` (not by ``load_from``). Logged: ``aug_entropy_{scale,
    rotation,occlusion}``, ``aug_kl``, ``aug_harder`` (fraction of
    adversarial draws harder than their reference);
    ``<work_dir>/adversarial_augmentation.jsonl`` gets the mean distributions
    every ``log_interval`` iterations and ``adversarial_augmentation.png``
    their evolution at the end.

    The train pipeline's ``PackPoseInputs`` is switched to
    ``pack_transformed=True`` and packs ``sample_idx`` (re-crops start from
    the annotation).

    Args:
        aug_net, scale_bins, rotation_bins, occlusion_grid, max_occluded_cells,
            alpha, beta, clip, reference: the augmenter's settings, see
            :class:`~hrgan_plugin.models.augmentation.AdversarialAugmenter`.
        optimizer (dict): the augmentation net's optimiser in joint training.
            Defaults to RMSprop 5e-5 (paper, released code).
        split (Sequence[float]): relative sizes of the random, ASR and AHO
            parts of each batch. Defaults to (1, 1, 1) (paper).
        pose_pretrain_epochs (int): stage 1 length. Defaults to 0.
        agent_pretrain_iters (int): stage 2 length. Defaults to 1800 (about
            2 epochs of MPII at batch 24, as the released code).
        agent_pretrain_lr (float): the optimiser's LR in stage 2. Defaults
            to 2.5e-4 (released code).
        separate_scale_rotation (bool): judge scale and rotation draws
            separately (released code). Defaults to True.
        hardness_norm (str): PCK normaliser, ``'head'`` (PCKh, needs the
            ``upper_neck`` and ``head_top`` keypoints) or ``'bbox'``.
            Defaults to ``'head'``.
        hardness_thr (float): PCK threshold. Defaults to 0.5 (PCKh@0.5).
        hardness_ignore (Sequence[str], optional): keypoints left out of the
            PCK. Defaults to ``pelvis`` and ``thorax`` where the dataset has
            them (released code).
        feature_modules (list[str], optional): modules whose outputs the
            augmentation net reads; defaults per backbone in ``DEFAULT_MODULES``.
        mask_modules (list[str], optional): modules whose outputs AHO occludes.
        log_interval (int): iterations between jsonl lines. Defaults to 50.
        eval_batch_size (int): images per no-grad pose-net pass. Defaults to 64.
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
                 reference: Optional[dict] = None,
                 pose_pretrain_epochs: int = 0,
                 agent_pretrain_iters: int = 1800,
                 agent_pretrain_lr: float = 2.5e-4,
                 separate_scale_rotation: bool = True,
                 hardness_norm: str = 'head',
                 hardness_thr: float = 0.5,
                 hardness_ignore: Optional[Sequence[str]] = None,
                 feature_modules: Optional[list[str]] = None,
                 mask_modules: Optional[list[str]] = None,
                 log_interval: int = 50,
                 eval_batch_size: int = 64,
                 out_file: str = 'adversarial_augmentation.jsonl',
                 plot_file: str = 'adversarial_augmentation.png') -> None:
        if len(split) != 3 or min(split) < 0 or sum(split) <= 0:
            raise ValueError(f'split must be 3 non-negative weights (random, ASR, AHO), '
                             f'got {split}')
        for key, value in (('pose_pretrain_epochs', pose_pretrain_epochs),
                           ('agent_pretrain_iters', agent_pretrain_iters)):
            if not isinstance(value, int) or value < 0:
                raise ValueError(f'{key} must be a non-negative integer, got {value!r}')
        if hardness_norm not in PCK_NORMS:
            raise ValueError(f'hardness_norm must be one of {PCK_NORMS}, got {hardness_norm!r}')
        self.augmenter = AdversarialAugmenter(aug_net, scale_bins, rotation_bins, occlusion_grid,
                                              max_occluded_cells, alpha, beta, clip, reference)
        self.optimizer_cfg = dict(optimizer)
        self.split = tuple(float(s) for s in split)
        self.pose_pretrain_epochs = pose_pretrain_epochs
        self.agent_pretrain_iters = agent_pretrain_iters
        self.agent_pretrain_lr = agent_pretrain_lr
        self.separate_scale_rotation = separate_scale_rotation
        self.hardness_norm, self.hardness_thr = hardness_norm, hardness_thr
        self.hardness_ignore = hardness_ignore
        self.feature_modules = feature_modules
        self.mask_modules = mask_modules
        self.log_interval = log_interval
        self.eval_batch_size = eval_batch_size
        self.out_file, self.plot_file = out_file, plot_file
        self.optimizer: Optional[torch.optim.Optimizer] = None
        self.agent_pretrain_done = 0  # stage-2 iterations done
        self._features: Optional[list[Tensor]] = None
        self._masks: Optional[tuple[Tensor, Tensor]] = None
        self._bin_targets: dict[int, tuple[Tensor, Tensor]] = {}  # sample_idx -> stage-2 targets
        self._histogram: Optional[Tensor] = None
        self._pending_state: Optional[dict] = None

    # ------------------------------------------------------------ set-up
    def stage(self, runner) -> str:
        """``'pose'`` (stage 1), ``'agent'`` (stage 2) or ``'joint'`` (stage 3)."""
        if runner.epoch < self.pose_pretrain_epochs:
            return 'pose'
        return 'agent' if self.agent_pretrain_done < self.agent_pretrain_iters else 'joint'

    def before_train(self, runner) -> None:
        loop = getattr(runner, 'train_loop', None)
        if self.pose_pretrain_epochs and isinstance(loop, IterBasedTrainLoop):
            raise ValueError(f'AdversarialAugmentationHook.pose_pretrain_epochs='
                             f'{self.pose_pretrain_epochs} needs an epoch-based train loop, not '
                             f'{type(loop).__name__}; pre-train the pose net in its own run and '
                             f'start this one from it with load_from')
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
        for key, names, hook in (('feature_modules', self.feature_modules, self._capture_features),
                                 ('mask_modules', self.mask_modules, self._apply_masks)):
            for name in names:
                try:
                    resolve_module(model, name).register_forward_hook(hook)
                except KeyError as e:
                    raise KeyError(f'AdversarialAugmentationHook.{key}: {e.args[0]}') from None
        dataset = runner.train_dataloader.dataset
        pack_for_recrop(dataset)
        self.recrop = TopdownRecrop(dataset)
        self._resolve_keypoints(self.recrop.dataset.metainfo)
        self.device = next(model.parameters()).device
        if self._pending_state is not None:
            self._build(self._pending_state['in_channels'])
            self._load(self._pending_state)

    def _resolve_keypoints(self, metainfo: dict) -> None:
        """Indices of the PCK's normaliser and ignored keypoints, by name."""
        ids = {name: i for i, name in metainfo['keypoint_id2name'].items()}
        dataset = metainfo.get('dataset_name', 'the train dataset')
        self.head_ids = None
        if self.hardness_norm == 'head':
            missing = [k for k in ('upper_neck', 'head_top') if k not in ids]
            if missing:
                raise ValueError(f"AdversarialAugmentationHook.hardness_norm='head' needs the "
                                 f'keypoints {missing}, which {dataset} lacks; use '
                                 f"hardness_norm='bbox'")
            self.head_ids = (ids['upper_neck'], ids['head_top'])
        if self.hardness_ignore is None:
            self.ignore_ids = [ids[k] for k in ('pelvis', 'thorax') if k in ids]
        else:
            unknown = [k for k in self.hardness_ignore if k not in ids]
            if unknown:
                raise ValueError(f'AdversarialAugmentationHook.hardness_ignore: {dataset} has no '
                                 f'keypoints {unknown} (it has {sorted(ids)})')
            self.ignore_ids = [ids[k] for k in self.hardness_ignore]

    def _build(self, in_channels: list[int]) -> None:
        net = self.augmenter.build_net(in_channels).to(self.device)
        for p in net.state_dict().values():
            broadcast(p, 0)  # identical augmentation net on every rank
        self.optimizer = OPTIMIZERS.build(dict(self.optimizer_cfg, params=net.parameters()))
        self.joint_lr = [g['lr'] for g in self.optimizer.param_groups]

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

    # ------------------------------------------------- pose net, frozen
    def _eval_pass(self, model, inputs: list, samples: list, capture: bool = False,
                   masks: Optional[tuple[Tensor, Tensor]] = None):
        """The pose net in eval mode without gradients over ``inputs``:
        per-person PCK ``(N,)`` and, with ``capture``, the features read by
        the augmentation net (batched by ``eval_batch_size``)."""
        was_training = model.training
        model.eval()
        pcks, features = [], []
        try:
            for start in range(0, len(inputs), self.eval_batch_size):
                part = slice(start, start + self.eval_batch_size)
                data = model.data_preprocessor(
                    dict(inputs=inputs[part], data_samples=samples[part]), False)
                if masks is not None:
                    rows = masks[0] - start
                    keep = (rows >= 0) & (rows < len(data['data_samples']))
                    self._masks = (rows[keep], masks[1][keep].to(self.device))
                self._features = [] if capture else None
                with torch.no_grad():
                    preds = model.head(model.extract_feat(data['inputs']))
                if capture:
                    features.append(self._features)
                pred = preds[-1] if isinstance(preds, (list, tuple)) else preds
                input_size = data['data_samples'][0].metainfo['input_size']
                pcks.append(person_pck(heatmap_argmax(pred, input_size), data['data_samples'],
                                       self.hardness_thr, self.hardness_norm, self.head_ids,
                                       self.ignore_ids))
        finally:
            self._features, self._masks = None, None
            model.train(was_training)
        if capture:
            features = [torch.cat(level) for level in zip(*features)]
            self._check_grid('feature_modules', features)
        return torch.cat(pcks), features

    def _crops(self, originals: list, scales, angles) -> tuple[list, list]:
        packed = [self.recrop.crop(o, float(s), float(a))
                  for o, s, a in zip(originals, scales, angles)]
        return [p['inputs'] for p in packed], [p['data_samples'] for p in packed]

    # --------------------------------------------------------- iteration
    def _split_rows(self, batch_size: int) -> tuple[list[int], list[int]]:
        total = sum(self.split)
        n_asr = int(round(batch_size * self.split[1] / total))
        n_aho = int(round(batch_size * self.split[2] / total))
        n_aho = min(n_aho, batch_size - n_asr)
        start = batch_size - n_asr - n_aho
        return list(range(start, start + n_asr)), list(range(start + n_asr, batch_size))

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        stage = self.stage(runner)
        if stage == 'pose':
            return
        model = unwrap_model(runner.model)
        if stage == 'agent':
            outputs = self._agent_pretrain_step(runner, model, data_batch)
            # the pose net stays frozen: this iteration's train_step returns the agent's log
            runner.model.train_step = lambda data, optim_wrapper=None: outputs
        else:
            self._joint_step(runner, model, data_batch)

    def _agent_pretrain_step(self, runner, model, data_batch: dict) -> dict:
        """Stage 2: the augmentation net learns the frozen pose net's
        per-image bin hardness (ASR) and the dataset's joint histogram (AHO)."""
        idx = [int(s.metainfo['sample_idx']) for s in data_batch['data_samples']]
        originals = [self.recrop.load_sample(i) for i in idx]
        ones, zeros = torch.ones(len(idx)), torch.zeros(len(idx))
        _, features = self._eval_pass(model, *self._crops(originals, ones, zeros), capture=True)
        if self.augmenter.net is None:
            self._build([f.shape[1] for f in features])
        scale_t, rot_t = self._bin_hardness(model, idx, originals)
        every = slice(None)
        targets = dict(scale=(every, scale_t), rotation=(every, rot_t),
                       occlusion=(every, self._joint_histogram().expand(len(idx), -1)))
        self.augmenter.net.train()
        log_probs = self.augmenter.net(features)
        kl = self._update(self.augmenter.kl_loss(log_probs, targets), self.agent_pretrain_lr)
        self.agent_pretrain_done += 1
        probs = {k: v.detach().exp().cpu() for k, v in log_probs.items()}
        self._log(runner, probs, kl, None, 'pretrain')
        return dict(aug_kl=torch.tensor(kl))

    def _bin_hardness(self, model, idx: list[int], originals: list) -> tuple[Tensor, Tensor]:
        """Per-image stage-2 targets of the scale and rotation distributions
        (cached: the frozen pose net gives each image the same)."""
        aug = self.augmenter
        scales = torch.cat([aug.scale_centres, torch.ones(aug.rotation_bins.num)])
        angles = torch.cat([torch.zeros(aug.scale_bins.num), aug.rotation_centres])
        todo = [j for j, i in enumerate(idx) if i not in self._bin_targets]
        if todo:
            inputs, samples = [], []
            for j in todo:
                crops = self._crops([originals[j]] * len(scales), scales, angles)
                inputs += crops[0]
                samples += crops[1]
            pck = self._eval_pass(model, inputs, samples)[0].view(len(todo), -1)
            m = aug.scale_bins.num
            for j, s, r in zip(todo, bin_hardness_targets(pck[:, :m]),
                               bin_hardness_targets(pck[:, m:])):
                self._bin_targets[idx[j]] = (s, r)
        return tuple(torch.stack(t) for t in zip(*(self._bin_targets[i] for i in idx)))

    def _joint_histogram(self) -> Tensor:
        """The AHO pre-training target over the whole train set (canonical crops)."""
        if self._histogram is None:
            kpts, vis = zip(*(self.recrop.canonical_keypoints(i)
                              for i in range(len(self.recrop.dataset))))
            self._histogram = joint_histogram(
                torch.as_tensor(np.stack(kpts)), torch.as_tensor(np.stack(vis)),
                self.recrop.input_size, self.augmenter.occlusion_grid)
        return self._histogram

    def _joint_step(self, runner, model, data_batch: dict) -> None:
        """Stage 3: propose, build the training samples, judge each draw
        against a random reference and update the augmentation net."""
        inputs, samples = data_batch['inputs'], data_batch['data_samples']
        asr_rows, aho_rows = self._split_rows(len(inputs))
        n_asr, n_aho = len(asr_rows), len(aho_rows)
        if not n_asr + n_aho:
            return
        aug = self.augmenter
        generator = self._rank_generator()
        originals = [self.recrop.load_sample(samples[r].metainfo['sample_idx'])
                     for r in asr_rows]
        canon = self._crops(originals, torch.ones(n_asr), torch.zeros(n_asr))
        _, features = self._eval_pass(model, canon[0] + [inputs[r] for r in aho_rows],
                                      canon[1] + [samples[r] for r in aho_rows], capture=True)
        if aug.net is None:
            self._build([f.shape[1] for f in features])
        proposal = aug.propose(features, n_asr, generator)

        # the references: independent random augmentations of the same images
        ref_scale, ref_angle = aug.random_transforms(n_asr, generator)
        ones, zeros = torch.ones(n_asr), torch.zeros(n_asr)
        if self.separate_scale_rotation:
            pairs = [(proposal.scale, zeros), (ref_scale, zeros),
                     (ones, proposal.angle), (ones, ref_angle)]
        else:
            pairs = [(proposal.scale, proposal.angle), (ref_scale, ref_angle)]
        judged, judged_samples = [], []
        for scales, angles in pairs:
            crops = self._crops(originals, scales, angles)
            judged += crops[0]
            judged_samples += crops[1]
        n_crops = len(judged)
        aho_inputs, aho_samples = [inputs[r] for r in aho_rows], [samples[r] for r in aho_rows]
        ref_masks = grid_masks(aug.random_cells(n_aho, generator), aug.occlusion_grid)
        pck, _ = self._eval_pass(
            model, judged + aho_inputs * 2, judged_samples + aho_samples * 2,
            masks=(torch.arange(n_crops, n_crops + 2 * n_aho),
                   torch.cat([proposal.masks, ref_masks])))
        harder_scale = harder_than(pck[:n_asr], pck[n_asr:2 * n_asr])
        harder_rotation = (harder_than(pck[2 * n_asr:3 * n_asr], pck[3 * n_asr:4 * n_asr])
                           if self.separate_scale_rotation else harder_scale)
        harder_occlusion = harder_than(pck[n_crops:n_crops + n_aho], pck[n_crops + n_aho:])
        targets = aug.adversarial_targets(proposal, harder_scale, harder_rotation,
                                          harder_occlusion)
        kl = self._update(aug.kl_loss(proposal.log_probs, targets), None)

        # the training samples: ASR re-crops, AHO masks armed for the training forward
        train = ((judged[:n_asr], judged_samples[:n_asr]) if not self.separate_scale_rotation
                 else self._crops(originals, proposal.scale, proposal.angle))
        for j, r in enumerate(asr_rows):
            inputs[r], samples[r] = train[0][j], train[1][j]
        self._masks = (torch.tensor(aho_rows, dtype=torch.long), proposal.masks.to(self.device))
        harder = torch.cat([harder_scale, harder_rotation, harder_occlusion])
        self._log(runner, proposal.probs, kl, harder, 'joint')

    def _update(self, kl: Tensor, lr: Optional[float]) -> float:
        """One step of the augmentation net (``lr`` overrides the optimiser's
        for this step), gradients and BN statistics averaged over ranks."""
        for group, joint_lr in zip(self.optimizer.param_groups, self.joint_lr):
            group['lr'] = joint_lr if lr is None else lr
        net = self.augmenter.net
        self.optimizer.zero_grad()
        kl.backward()
        all_reduce_params([p.grad for p in net.parameters() if p.grad is not None], op='mean')
        self.optimizer.step()
        # BN statistics: the ranks' mean, as SyncBuffersHook
        all_reduce_params([b for b in net.buffers() if b.is_floating_point()], op='mean')
        return float(kl.detach())

    @staticmethod
    def _rank_generator() -> torch.Generator:
        """This iteration's sampling stream for this rank.

        Ranks share the global seed, so drawing from the global generator would
        give every rank the same bins and cells; a seed drawn from it (the same
        draw on every rank, and restored with it on resume) offset by the rank
        gives each rank its own, reproducible choices."""
        seed = int(torch.randint(2**62, ()))
        return torch.Generator().manual_seed(seed + get_rank())

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        self._masks = None
        if runner is not None:
            runner.model.__dict__.pop('train_step', None)  # stage 2's frozen step

    # ------------------------------------------------------------ logging
    def _log(self, runner, probs: dict, kl: float, harder: Optional[Tensor],
             phase: str) -> None:
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
            optimizer=self.optimizer.state_dict(),
            agent_pretrain_done=self.agent_pretrain_done))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = self.resumed_state(runner, checkpoint)  # load_from: a fresh augmenter
        if state is not None:
            self._pending_state = state  # built in before_train, once the device is known

    def _load(self, state: dict) -> None:
        self.augmenter.net.load_state_dict(state['aug_net'])
        self.optimizer.load_state_dict(state['optimizer'])
        self.agent_pretrain_done = int(state['agent_pretrain_done'])
        self._pending_state = None
