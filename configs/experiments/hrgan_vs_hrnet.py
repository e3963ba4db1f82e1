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

Stage 1 is shared: per seed, one `pretrain` run trains the reduced HRNet
from scratch (30 epochs, Adam 2e-3 after a 100-iteration warm-up, cosine
decay), and every arm of that seed starts from its last checkpoint
(`load_from`; the discriminators start untrained), so the arms differ only
over the final 10 epochs (1560 iterations, Adam 5e-4 -- the stock HRNet
recipe's rate -- warm-up and cosine decay; D at its config's rate), where
the baseline's curve is judged. From scratch, 20 epochs at 2e-3 left the
baseline still gaining 13% over the last quarter
(docs/evidence/hrgan_vs_hrnet/probes.md); the real recipe starts from
ImageNet weights, not from nothing.

The proxy (configs/experiments/_base_/proxy_coco_96x64.py) keeps the
recipe's design (top-down HRNet, MSRA heatmaps, Adam, warm-up then cosine
decay, COCO AP on ground-truth boxes) and scales the network (reduced
HRNet: W18 widths, fewer modules and blocks), the input (96x64 instead of
256x192, heatmaps 24x16), the data (2483 rendered people instead of COCO's
150k), the batch (16 instead of 32 per GPU x 4) and the schedule (30 + 10
epochs instead of 210).

Budget, measured on seeds 0 and 1 with two runs side by side on 2 CPU
cores (`--jobs 2`, one thread each): 31-33 minutes per pretrain, 10-12 per
`hrnet` arm, 15-17 with the small D, 12 for the conventional GAN and 34
with the HRNet D (2.8x): about 55 minutes of the machine per seed.
"""
_base_ = ['./_base_/occlusion_coco.py', './_base_/proxy_coco_96x64.py']

_qs = 'configs/quickstart/'
_hrgan = _qs + 'hrgan_synthetic-coco_128x96.py'


_lr = 5e-4  # stage 2: the generator's rate (D keeps its config's, 8e-5)


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
                cfg_options={'train_cfg.max_epochs': 30, 'param_scheduler.1.end': 30,
                             'optim_wrapper.optimizer.lr': 2e-3,
                             'default_hooks.checkpoint.interval': 30})
schedule = {
    'train_cfg.max_epochs': 10,
    'param_scheduler.1.end': 10,
    'train_dataloader.batch_size': 16,
    'default_hooks.checkpoint.interval': 10,
}
cfg_options = {{_base_.proxy_options}}
