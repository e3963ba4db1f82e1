"""HRGAN vs HRNet at convergence on the synthetic occlusion benchmark (COCO
format), on the converging proxy.

Arms, paired by seed (same generator initialisation and data order), all
with the quickstart reduced HRNet as the generator:

- `hrnet`: the baseline, no discriminator.
- `small-d_lg2e-4`: HRGAN with the small BEGAN discriminator
  (PoseDiscriminator, 16 channels, hourglass depth 3) at lambda_G 2e-4, the
  reference code's 1e-4 on 0.5*MSE in this project's units.
- `small-d_lg1e-2`: the same at lambda_G 1e-2, the least harmful stronger
  weight of the short sweep.
- `hrnet-d_lg2e-4`: the reference-architecture discriminator
  (HRNetDiscriminator on the reduced HRNet's stages, so scaled to the proxy
  as the generator is) at the reference weight.
- `conventional_lg1e-2`: the slides' conventional GAN (a real/fake
  classifier on the small D's body, non-saturating loss, no k_t) at
  lambda_G 1e-2: against `small-d_lg1e-2` it changes the game only.

Boundary equilibrium: gamma 0.5, lambda_k 1, k_0 0 (the quickstart's).
Mechanism check: the discriminator's plausibility ratio (its reconstruction
error on implausible vs real ground-truth heatmaps).

Stage 1 is one long run shared by every seed (`pretrain_seed = 0`): the
reduced HRNet trained from scratch for 120 epochs (18720 iterations, Adam
2e-3 after a 100-iteration warm-up, cosine decay), whose final weights
(published in results/_pretrain/seed0.pth) every arm of every seed loads
(`load_from`; the discriminators start untrained). The arms then differ
only over the final 10 epochs (1560 iterations, Adam 2e-4 for G with
warm-up and cosine decay; D at its config's rate), where the baseline's
curve is judged; the seeds pair the arms' initialisation of D and their
data order. Why so: the validation curve of a from-scratch run grows about
like log(iterations) (docs/evidence/hrgan_vs_hrnet/probes.md: +13% over
the last quarter after 20 epochs, and after a 30-epoch stage 1 a 10-epoch
stage 2 at 5e-4 still gained +3.2% over its last quarter), so the gain
left in stage 2 shrinks with stage 1's length: 1560 iterations after
18720 add log(20280/18720) = 0.08 of a doubling. Stage 2's rate, 2e-4, lies
between the recipe's 5e-4 and its final 5e-5 step, the phase of the real
recipe stage 2 stands for. The real recipe trains the GAN from ImageNet
weights for all 210 epochs; here the adversarial term acts only in the
last 10 epochs, on a nearly converged generator.

The proxy (configs/experiments/_base_/proxy_coco_96x64.py) keeps the
recipe's design (top-down HRNet, MSRA heatmaps, Adam, warm-up then cosine
decay, COCO AP on ground-truth boxes) and scales the network (reduced
HRNet: W18 widths, fewer modules and blocks), the input (96x64 instead of
256x192, heatmaps 24x16), the data (2483 rendered people instead of COCO's
150k), the batch (16 instead of 32 per GPU x 4) and the schedule (120 + 10
epochs instead of 210).

Budget, estimated before the grid from the seed-0/1 runs of the earlier
design (30-epoch stage 1 per seed, arms at 5e-4; two runs side by side on
2 CPU cores): stage 1 alone with both cores, about 80 minutes, once; per
seed, the five arms take 10-12 (hrnet), 15-17 (each small D), 12
(conventional) and 34 (HRNet D) minutes of one core, so about 45 minutes
of the machine with two side by side: about 5 hours for 5 seeds.
"""
_base_ = ['./_base_/occlusion_coco.py', './_base_/proxy_coco_96x64.py']

_qs = 'configs/quickstart/'
_hrgan = _qs + 'hrgan_synthetic-coco_128x96.py'


_lr = 2e-4  # stage 2: the generator's rate (D keeps its config's, 8e-5)


def _gan(config, lambda_g):
    return dict(config=config,
                cfg_options={'model.lambda_g': lambda_g, 'model.adv_grad_interval': 10,
                             'optim_wrapper.generator.optimizer.lr': _lr})


arms = {
    'hrnet': dict(config=_qs + 'hrnet_synthetic-coco_128x96.py',
                  cfg_options={'optim_wrapper.optimizer.lr': _lr}),
    'small-d_lg2e-4': _gan(_hrgan, 2e-4),
    'small-d_lg1e-2': _gan(_hrgan, 1e-2),
    'hrnet-d_lg2e-4': _gan(_qs + 'hrgan_synthetic-coco_128x96_hrnet-d.py', 2e-4),
    'conventional_lg1e-2': _gan(_qs + 'hrgan_synthetic-coco_128x96_conventional-gan.py', 1e-2),
}
baseline = 'hrnet'
seeds = [0, 1, 2, 3, 4]
# boundary equilibrium vs the conventional GAN at the same weight and D body
contrasts = [('small-d_lg1e-2', 'conventional_lg1e-2')]

metrics = {
    'coco/AP': 'higher',
    'occlusion/PCK_visible': 'higher',
    'occlusion/PCK_occluded': 'higher',
    'occlusion/PCK': 'higher',
    'occlusion/implausible_rate': 'lower',
    'occlusion/implausible_bone_rate': 'lower',
}
curves = ['loss_kpt', 'loss_adv', 'adv_grad_ratio', 'k_t']

pretrain = dict(config=_qs + 'hrnet_synthetic-coco_128x96.py',
                cfg_options={'train_cfg.max_epochs': 120, 'param_scheduler.1.end': 120,
                             'optim_wrapper.optimizer.lr': 2e-3,
                             'default_hooks.checkpoint.interval': 120})
pretrain_seed = 0  # one stage 1, shared by the arms of every seed
schedule = {
    'train_cfg.max_epochs': 10,
    'param_scheduler.1.end': 10,
    'train_dataloader.batch_size': 16,
    'default_hooks.checkpoint.interval': 10,
}
cfg_options = {{_base_.proxy_options}}
