"""Adversarial data augmentation (ASR + AHO, the paper's three stages) vs
random augmentation at convergence on the synthetic occlusion benchmark
(MPII format), on the converging proxy.

Stage 1 is one long run shared by every seed (`pretrain_seed = 0`, as in
hrgan_vs_hrnet and for the same reason: a from-scratch curve grows about
like log(iterations), so only a long stage 1 leaves stage 2 near its
plateau): the quickstart reduced HRNet with mmpose's random augmentation,
120 epochs (18720 iterations, Adam 2e-3 after a warm-up, cosine decay).
It keeps a checkpoint every 10 epochs, so an interrupted stage 1 continues
from the last one (exactly: the quickstart re-seeds every epoch). Every
arm of every seed starts from its final weights (`load_from`;
published in results/_pretrain/seed0.pth), so the arms are paired and
stage 1 is paid once. Arms, 10 further epochs each (1560 pose-net updates,
Adam 2e-4 -- between the HRNet recipe's 5e-4 and its final 5e-5 step --
with warm-up and cosine decay; a checkpoint every epoch, so an interrupted
arm continues from its last one):
`random`, random augmentation only (baseline); `asr_aho`,
AdversarialAugmentationHook with 300 augmentation-net updates on the frozen
pose net first (stage 2, a phase of its own before the first epoch: it
takes no pose-net update, so every arm makes the same 1560, the `iters`
column of runs.csv), then joint training on batches split 1:1:1 into random
/ ASR / AHO rows (stage 3); `asr` (split 1:1:0) and `aho` (split 1:0:1).
Metrics on the synthetic val set: PCKh@0.5 (MpiiPCKAccuracy, logged as
`PCK`, percent), PCKh@0.5 over visible / occluded joints and the
implausible-pose and implausible-bone rates (OcclusionPCKMetric, fractions).
Mechanism checks: the rank correlation of ASR's learned bin probabilities
with the pose net's per-bin difficulty, and AHO's PCK drop with its most
probable cells occluded against as many random cells.

The proxy (configs/experiments/_base_/proxy_mpii_96x96.py) keeps the
paper's design (pose pre-training, agent pre-training on the frozen pose
net, joint training; the augmentation net's sizes and optimisers) and
scales the pose network (the reduced HRNet from scratch instead of a
stacked hourglass), the input (96x96 instead of 256x256), the data (2483
rendered people instead of MPII's 25k), the batch (16) and the stages (120
+ 10 epochs, 300 agent updates instead of 1800).

Budget (estimated before the grid: 96x96 costs about 1.5x the COCO proxy's
96x64 iteration, 0.24 s with both cores, and ASR + AHO about 2.06x an HRNet
iteration, docs/benchmarks/asr_aho_overhead.md): stage 1 alone with both
cores about 2 hours, once; per seed, with two runs side by side on 2 CPU
cores (`--jobs 2`), about 13 minutes per `random` arm and 27 per
adversarial arm, about 47 minutes of the machine, so about 6 hours in all
for 5 seeds. Measured on seed 0 (one thread each, two runs side by side):
`random` 18 minutes, `asr_aho` 44 (300 agent updates, then 1560 joint
iterations at about 1.1 s), so about 75 minutes of the machine per seed
and 6.3 hours for 5 seeds. That undercounted the single arms: on the same
AMD EPYC (AVX2) `asr` took 50 minutes and `aho` 54, about 83 minutes of
the machine per seed with all four arms; on an Intel Xeon (AVX-512), with
two or three runs side by side, `asr_aho` took 31-33 minutes, `asr` 32-34
and `aho` 28-29; with a full `make test` beside the first pair, 47 and 43.
"""
_base_ = ['./_base_/occlusion_mpii.py', './_base_/proxy_mpii_96x96.py']

_adv_config = 'configs/quickstart/hrnet_asr-aho_synthetic-mpii_128x128.py'
# custom_hooks[4]: the augmentation hook; stage 1 comes from `pretrain`
_stages = {'custom_hooks.4.pose_pretrain_epochs': 0, 'custom_hooks.4.agent_pretrain_iters': 300,
           'custom_hooks.4.log_interval': 50}
pretrain = dict(config='configs/quickstart/hrnet_synthetic-mpii_128x128.py',
                cfg_options={'train_cfg.max_epochs': 120, 'param_scheduler.1.end': 120,
                             'optim_wrapper.optimizer.lr': 2e-3,
                             'default_hooks.checkpoint.interval': 10,
                             'default_hooks.checkpoint.max_keep_ckpts': 1})
pretrain_seed = 0  # one stage 1, shared by the arms of every seed
arms = dict(
    random=dict(config='configs/quickstart/hrnet_synthetic-mpii_128x128.py'),
    asr_aho=dict(config=_adv_config, cfg_options=_stages),
    asr=dict(config=_adv_config, cfg_options={**_stages, 'custom_hooks.4.split': (1, 1, 0)}),
    aho=dict(config=_adv_config, cfg_options={**_stages, 'custom_hooks.4.split': (1, 0, 1)}),
)
baseline = 'random'
seeds = [0, 1, 2, 3, 4]

curves = ['loss_kpt', 'aug_kl', 'aug_harder']

schedule = {
    'train_cfg.max_epochs': 10,
    'param_scheduler.1.end': 10,
    'optim_wrapper.optimizer.lr': 2e-4,
    'train_dataloader.batch_size': 16,
    'default_hooks.checkpoint.interval': 1,  # an interrupted arm continues from its last epoch
    'default_hooks.checkpoint.max_keep_ckpts': 1,
}
cfg_options = {{_base_.proxy_options}}
