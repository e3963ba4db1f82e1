"""Stage 2 of adversarial data augmentation (Peng et al. 2018): the
augmentation net learns, with the pose net frozen, which scales and
rotations each image finds hard and where joints lie."""
from __future__ import annotations

import math
from collections.abc import Iterator
from itertools import islice

import numpy as np
import torch
from mmengine.dataset import DefaultSampler
from mmengine.logging import print_log
from torch import Tensor
from torch.utils.data import DataLoader

from ...models.augmentation.distributions import joint_histogram
from ...models.augmentation.hardness import bin_hardness_targets
from ...utils.errors import TrainingAborted
from .recrop_batch import RecropBatch


def _cycle(loader: DataLoader) -> Iterator[dict]:
    """The loader's batches, epoch after epoch (reshuffled by epoch)."""
    epoch = 0
    while True:
        loader.sampler.set_epoch(epoch)
        yield from loader
        epoch += 1


def agent_loader(runner) -> DataLoader:
    """A loader of its own over the train set, with the train loader's
    batch size, workers and collate function and a sampler seeded by the
    run's seed: the agent's phase neither draws from nor disturbs the
    training data stream (and resumes the same way)."""
    loader = runner.train_dataloader
    seed = int(runner.seed)
    return DataLoader(loader.dataset, batch_size=loader.batch_size,
                      sampler=DefaultSampler(loader.dataset, shuffle=True, seed=seed),
                      num_workers=loader.num_workers, collate_fn=loader.collate_fn,
                      worker_init_fn=loader.worker_init_fn, pin_memory=loader.pin_memory,
                      generator=torch.Generator().manual_seed(seed))


class AgentPretrainingMixin:
    """Stage 2 of :class:`AdversarialAugmentationHook`: a phase of
    ``agent_pretrain_iters`` augmentation-net updates that runs before an
    epoch, as validation runs after one. The pose net is only evaluated
    (eval mode, no gradients), so it is not updated and the runner's
    iteration count does not move."""

    def pretrain_agent(self, runner) -> None:
        self.refuse_nondeterministic_cuda()
        todo = self.agent_pretrain_iters - self.agent_pretrain_done
        print_log(f'AdversarialAugmentationHook: agent pre-training, {todo} updates of the '
                  f'augmentation net with the pose net frozen', logger='current')
        for batch in islice(_cycle(agent_loader(runner)), todo):
            kl = self.agent_pretrain_step(runner, batch)
            done = self.agent_pretrain_done
            if not math.isfinite(kl):
                raise TrainingAborted(f'AdversarialAugmentationHook: agent pre-training update '
                                      f'{done}: aug_kl = {kl}')
            if done % self.log_interval == 0 or done == self.agent_pretrain_iters:
                print_log(f'agent pre-training [{done}/{self.agent_pretrain_iters}] '
                          f'aug_kl: {kl:.4f}', logger='current')

    def agent_pretrain_step(self, runner, data_batch: dict) -> float:
        """One update towards the frozen pose net's per-image bin hardness
        (ASR) and the dataset's joint histogram (AHO); returns the KL."""
        samples = data_batch['data_samples']
        idx = [int(s.metainfo['sample_idx']) for s in samples]
        ctx = RecropBatch.from_samples(samples, self.device)
        n = len(idx)
        _, features = self.taps.predict(ctx.crops(self.warp, torch.ones(n), torch.zeros(n)),
                                        capture=True)
        if self.augmenter.net is None:
            self._build([f.shape[1] for f in features])
        scale_t, rot_t = self._bin_hardness(idx, ctx)
        every = slice(None)
        targets = dict(scale=(every, scale_t), rotation=(every, rot_t),
                       occlusion=(every, self._joint_histogram().expand(n, -1)))
        self.augmenter.net.train()
        log_probs = self.augmenter.net(features)
        kl = self._update(self.augmenter.kl_loss(log_probs, targets), self.agent_pretrain_lr)
        self.agent_pretrain_done += 1
        probs = {k: v.detach().exp().cpu() for k, v in log_probs.items()}
        self._log(runner, probs, kl, None, 'pretrain')
        return kl

    def _bin_hardness(self, idx: list[int], ctx: RecropBatch) -> tuple[Tensor, Tensor]:
        """Per-image stage-2 targets of the scale and rotation distributions
        (cached: the frozen pose net gives each image the same): each image
        re-cropped at every bin centre, ``1 - PCK`` normalised over the bins."""
        aug, warp = self.augmenter, self.warp
        scales = torch.cat([aug.scale_centres, torch.ones(aug.rotation_bins.num)])
        angles = torch.cat([torch.zeros(aug.scale_bins.num), aug.rotation_centres])
        todo = [j for j, i in enumerate(idx) if i not in self._bin_targets]
        if todo:
            rows = torch.tensor(todo, device=ctx.img.device)
            sub = RecropBatch(ctx.img[rows], ctx.keypoints[rows], ctx.visible[rows],
                              ctx.bbox_size[rows])
            scale = scales[:, None].expand(-1, len(todo))  # bin-major
            angle = angles[:, None].expand(-1, len(todo))
            crops = sub.crops(warp, scale, angle).flatten(0, 1)
            truth = [sub.truth(warp, s, a) for s, a in zip(scale, angle)]
            pred, _ = self.taps.predict(crops)
            kpts, vis, size = (torch.cat(t) for t in zip(*truth))
            pck = self.judge(pred, kpts, vis, size, warp.input_size).cpu()
            pck = pck.view(len(scales), len(todo)).T
            m = aug.scale_bins.num
            for j, s, r in zip(todo, bin_hardness_targets(pck[:, :m]),
                               bin_hardness_targets(pck[:, m:])):
                self._bin_targets[idx[j]] = (s, r)
        return tuple(torch.stack(t) for t in zip(*(self._bin_targets[i] for i in idx)))

    def _joint_histogram(self) -> Tensor:
        """The AHO pre-training target over the whole train set (canonical
        crops, from the annotations alone)."""
        if self._histogram is None:
            kpts, vis = zip(*(self.recrop.canonical_keypoints(i)
                              for i in range(len(self.recrop.dataset))))
            self._histogram = joint_histogram(
                torch.as_tensor(np.stack(kpts)), torch.as_tensor(np.stack(vis)),
                self.recrop.input_size, self.augmenter.occlusion_grid)
        return self._histogram

