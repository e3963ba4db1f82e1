"""Adversarial data augmentation (ASR + AHO) for any top-down heatmap model:
the runner side of :class:`~hrgan_plugin.models.augmentation.AdversarialAugmenter`."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import torch
from mmengine.dist import all_reduce_params, broadcast, get_rank
from mmengine.hooks import Hook
from mmengine.registry import OPTIMIZERS
from mmengine.runner import IterBasedTrainLoop
from mmpose.registry import HOOKS
from torch import Tensor

from ...models.augmentation.adversarial_augmenter import AdversarialAugmenter
from ...models.augmentation.hardness import PCK_NORMS, harder_than, sample_keypoints
from ...models.augmentation.occlusion import grid_masks
from .agent_pretraining import AgentPretrainingMixin
from .augmentation_setup import AugmentationSetupMixin
from .hook_state import CheckpointStateMixin
from .recrop_batch import RecropBatch


@HOOKS.register_module()
class AdversarialAugmentationHook(AgentPretrainingMixin, AugmentationSetupMixin,
                                  CheckpointStateMixin, Hook):
    """Adversarial scale/rotation (ASR) and hierarchical occlusion (AHO)
    augmentation learned against the pose network (Peng et al., CVPR 2018,
    Sec. 5.1 and Algorithm 1), for any mmpose top-down heatmap model, in the
    paper's three stages:

    1. ``pose_pretrain_epochs`` epochs of plain training with the pipeline's
       random augmentation (the hook does nothing; 0 when ``load_from`` gives
       a trained pose net).
    2. Agent pre-training, a phase of its own before the next epoch (as
       validation is): ``agent_pretrain_iters`` updates of the augmentation
       net at ``agent_pretrain_lr`` on the train set with the pose net frozen
       (eval mode; no pose update, no BN update, no runner iteration),
       towards per-image targets: each image re-cropped at every scale-bin
       centre (rotation 0) and every rotation-bin centre (scale 1), ``1 -
       PCK`` of the frozen net normalised over the bins; the occlusion target
       is the dataset's joint histogram over the grid.
    3. Joint training: every batch is split into random / ASR / AHO rows
       (``split``). The augmentation net reads the pose net's (detached)
       features of each ASR image's canonical crop and each AHO sample, and
       draws a scale, a rotation and 1-2 occluded cells. ASR rows are
       replaced by re-crops of the original image at the drawn scale and
       rotation; AHO rows are occluded in every ``mask_modules`` feature map
       during the training forward. Each adversarial draw is judged against
       an independent random augmentation of the same image (``reference``;
       with ``separate_scale_rotation``, scale-only against scale-only and
       rotation-only against rotation-only; a random occlusion for AHO) by
       the per-person PCK of the pose net in eval mode: harder samples reward
       the drawn bins, the others penalise them (``alpha``/``beta``,
       clipping to ``[0, 2/k]``), and the augmentation net is trained towards
       those targets by KL divergence with its own optimiser (``optimizer``).

    Re-crops are made on the model's device: the loader's workers cut each
    sample's neighbourhood from the decoded image
    (:class:`~hrgan_plugin.datasets.transforms.RecropContext`, inserted after
    ``GetBBoxCenterScale``), and the hook warps those contexts in batches
    (:class:`~hrgan_plugin.models.augmentation.ContextWarp`); the targets of
    the training re-crops come from the pipeline's own codec.

    The network's gradients and BN statistics are averaged over ranks and its
    initial weights broadcast from rank 0, so every rank holds the same
    augmentation network; each rank draws its own bins and cells. Its
    weights, optimiser and progress are saved in checkpoints and restored on
    ``--resume`` (not by ``load_from``). Logged: ``aug_entropy_{scale,
    rotation,occlusion}``, ``aug_kl``, ``aug_harder`` (fraction of
    adversarial draws harder than their reference);
    ``<work_dir>/adversarial_augmentation.jsonl`` gets the mean distributions
    every ``log_interval`` updates and ``adversarial_augmentation.png``
    their evolution at the end.

    Args:
        aug_net, scale_bins, rotation_bins, occlusion_grid, max_occluded_cells,
            alpha, beta, clip, reference: the augmenter's settings, see
            :class:`~hrgan_plugin.models.augmentation.AdversarialAugmenter`.
        optimizer (dict): the augmentation net's optimiser in joint training.
            Defaults to RMSprop 5e-5 (paper, released code).
        split (Sequence[float]): relative sizes of the random, ASR and AHO
            parts of each batch. Defaults to (1, 1, 1) (paper).
        pose_pretrain_epochs (int): stage 1 length. Defaults to 0.
        agent_pretrain_iters (int): stage 2 length in augmentation-net
            updates. Defaults to 1800 (about 2 epochs of MPII at batch 24, as
            the released code).
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
        context_zoom (float, optional): context pixels per input pixel (see
            ``RecropContext``). Defaults to the largest content scale the
            bins allow, so the most zoomed-in re-crop keeps full detail.
        log_interval (int): updates between jsonl lines. Defaults to 50.
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
                 context_zoom: Optional[float] = None,
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
        self.context_zoom = context_zoom
        self.log_interval = log_interval
        self.eval_batch_size = eval_batch_size
        self.out_file, self.plot_file = out_file, plot_file
        self.optimizer: Optional[torch.optim.Optimizer] = None
        self.agent_pretrain_done = 0  # stage-2 updates done
        self.updates = 0  # augmentation-net updates, both stages
        self._bin_targets: dict[int, tuple[Tensor, Tensor]] = {}  # sample_idx -> stage-2 targets
        self._histogram: Optional[Tensor] = None
        self._pending_state: Optional[dict] = None

    def stage(self, runner) -> str:
        """``'pose'`` (stage 1), ``'agent'`` (stage 2, due before the next
        epoch) or ``'joint'`` (stage 3)."""
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
        self.set_up(runner)

    def _build(self, in_channels: list[int]) -> None:
        net = self.augmenter.build_net(in_channels).to(self.device)
        for p in net.state_dict().values():
            broadcast(p, 0)  # identical augmentation net on every rank
        self.optimizer = OPTIMIZERS.build(dict(self.optimizer_cfg, params=net.parameters()))
        self.joint_lr = [g['lr'] for g in self.optimizer.param_groups]

    def _split_rows(self, batch_size: int) -> tuple[list[int], list[int]]:
        total = sum(self.split)
        n_asr = int(round(batch_size * self.split[1] / total))
        n_aho = int(round(batch_size * self.split[2] / total))
        n_aho = min(n_aho, batch_size - n_asr)
        start = batch_size - n_asr - n_aho
        return list(range(start, start + n_asr)), list(range(start + n_asr, batch_size))

    def eval_images(self, batch_size: int) -> int:
        """Images the pose net sees in eval passes per joint iteration: the
        canonical ASR crops and the AHO samples (features), and every judged
        sample (4 per ASR row, or 2 with scale and rotation judged together;
        2 per AHO row)."""
        n_asr, n_aho = (len(r) for r in self._split_rows(batch_size))
        return n_asr + n_aho + n_asr * (4 if self.separate_scale_rotation else 2) + 2 * n_aho

    def before_train_epoch(self, runner) -> None:
        if self.stage(runner) == 'agent':
            self.pretrain_agent(runner)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if self.stage(runner) == 'joint':
            self._joint_step(runner, data_batch)

    def _joint_step(self, runner, data_batch: dict) -> None:
        """Stage 3: propose, build the training samples, judge each draw
        against a random reference and update the augmentation net."""
        inputs, samples = data_batch['inputs'], data_batch['data_samples']
        asr_rows, aho_rows = self._split_rows(len(inputs))
        n_asr, n_aho = len(asr_rows), len(aho_rows)
        if not n_asr + n_aho:
            return
        self.refuse_nondeterministic_cuda()  # set by EpochSeedHook after before_train, too
        aug, warp, dev = self.augmenter, self.warp, self.device
        generator = self._rank_generator()
        ctx = RecropBatch.from_samples([samples[r] for r in asr_rows], dev) if n_asr else None
        ones, zeros = torch.ones(n_asr), torch.zeros(n_asr)
        aho_inputs = torch.stack([inputs[r] for r in aho_rows]).to(dev) if n_aho else None
        seen = ([ctx.crops(warp, ones, zeros)] if n_asr else []) + ([aho_inputs] if n_aho else [])
        _, features = self.taps.predict(torch.cat(seen), capture=True)
        if aug.net is None:
            self._build([f.shape[1] for f in features])
        proposal = aug.propose(features, n_asr, generator)

        # the references: independent random augmentations of the same images
        ref_scale, ref_angle = aug.random_transforms(n_asr, generator)
        if not n_asr:
            pairs = []
        elif self.separate_scale_rotation:
            pairs = [(proposal.scale, zeros), (ref_scale, zeros),
                     (ones, proposal.angle), (ones, ref_angle)]
        else:
            pairs = [(proposal.scale, proposal.angle), (ref_scale, ref_angle)]
        # one batched warp: the judged crops, then (scale and rotation judged
        # apart) the training crop at the drawn scale and rotation together
        kinds = pairs + ([(proposal.scale, proposal.angle)]
                         if n_asr and self.separate_scale_rotation else [])
        crops = ctx.crops(warp, *(torch.stack(k) for k in zip(*kinds))) if n_asr else []
        judged = list(crops[:len(pairs)])
        truth = [ctx.truth(warp, s, a) for s, a in pairs]
        if n_aho:
            kpts, vis, size = (t.to(dev) for t in sample_keypoints([samples[r] for r in aho_rows]))
            truth += [(kpts, vis, size)] * 2
            judged += [aho_inputs, aho_inputs]
        n_crops = n_asr * len(pairs)
        ref_masks = grid_masks(aug.random_cells(n_aho, generator), aug.occlusion_grid)
        pred, _ = self.taps.predict(
            torch.cat(judged), masks=(torch.arange(n_crops, n_crops + 2 * n_aho, device=dev),
                                      torch.cat([proposal.masks, ref_masks]).to(dev)))
        kpts, vis, size = (torch.cat(t) for t in zip(*truth))
        pck = self.judge(pred, kpts, vis, size, warp.input_size).cpu()
        harder_scale = harder_than(pck[:n_asr], pck[n_asr:2 * n_asr])
        harder_rotation = (harder_than(pck[2 * n_asr:3 * n_asr], pck[3 * n_asr:4 * n_asr])
                           if self.separate_scale_rotation else harder_scale)
        harder_occlusion = harder_than(pck[n_crops:n_crops + n_aho], pck[n_crops + n_aho:])
        targets = aug.adversarial_targets(proposal, harder_scale, harder_rotation,
                                          harder_occlusion)
        kl = self._update(aug.kl_loss(proposal.log_probs, targets), None)

        # the training samples: ASR re-crops, AHO masks armed for the training forward
        if n_asr:
            train = len(pairs) if self.separate_scale_rotation else 0  # the drawn (s, r)
            self._replace_asr_rows(inputs, samples, asr_rows, ctx.visible, crops[train],
                                   ctx.truth(warp, *kinds[train])[0], *kinds[train])
        self.taps.masks = (torch.tensor(aho_rows, dtype=torch.long, device=dev),
                           proposal.masks.to(dev))
        harder = torch.cat([harder_scale, harder_rotation, harder_occlusion])
        self._log(runner, proposal.probs, kl, harder, 'joint')

    def _replace_asr_rows(self, inputs: list, samples: list, asr_rows: list[int],
                          visible: Tensor, crops: Tensor, keypoints: Tensor, scale: Tensor,
                          angle: Tensor) -> None:
        """ASR rows become their re-crops at the drawn scale and rotation,
        with the targets of the pipeline's codec."""
        keypoints, visible = keypoints.cpu().numpy(), visible.cpu().numpy()
        for j, r in enumerate(asr_rows):
            inputs[r] = crops[j]
            samples[r] = self.recrop.training_sample(samples[r], keypoints[j], visible[j],
                                                     float(scale[j]), float(angle[j]))

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
        self.updates += 1
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
        self.taps.masks = None

    # --------------------------------------------------------- checkpoint
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        aug = self.augmenter
        if aug.net is None:
            return
        self.save_state(runner, checkpoint, dict(
            in_channels=aug.in_channels, aug_net=aug.net.state_dict(),
            optimizer=self.optimizer.state_dict(),
            agent_pretrain_done=self.agent_pretrain_done, updates=self.updates))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = self.resumed_state(runner, checkpoint)  # load_from: a fresh augmenter
        if state is not None:
            self._pending_state = state  # built in before_train, once the device is known

    def _load(self, state: dict) -> None:
        self.augmenter.net.load_state_dict(state['aug_net'])
        self.optimizer.load_state_dict(state['optimizer'])
        self.agent_pretrain_done = int(state['agent_pretrain_done'])
        self.updates = int(state.get('updates', self.agent_pretrain_done))
        self._pending_state = None
