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

The proxy (configs/experiments/_base_/proxy_coco_96x64.py) keeps the
recipe's design (top-down HRNet, MSRA heatmaps, Adam, warm-up then cosine
decay, COCO AP on ground-truth boxes) and scales: the network (reduced
HRNet: W18 widths, fewer modules and blocks, from scratch instead of
ImageNet-pretrained W32), the input (96x64 instead of 256x192, heatmaps
24x16), the data (2483 rendered people instead of COCO's 150k), the batch
(16 instead of 32 per GPU x 4) and the schedule (20 epochs, 3104
iterations, instead of 210).

Budget: about 0.28 s per iteration with two runs side by side on 2 CPU
cores (`--jobs 2`, one thread each), so about 17 minutes per pair of
`hrnet` runs, 1.3x that with the small D and about 2x with the HRNet D.
"""
_base_ = ['./_base_/occlusion_coco.py', './_base_/proxy_coco_96x64.py']

_qs = 'configs/quickstart/'
_hrgan = _qs + 'hrgan_synthetic-coco_128x96.py'


def _gan(config, lambda_g):
    return dict(config=config,
                cfg_options={'model.lambda_g': lambda_g, 'model.adv_grad_interval': 10})


arms = {
    'hrnet': dict(config=_qs + 'hrnet_synthetic-coco_128x96.py'),
    'small-d_lg2e-4': _gan(_hrgan, 2e-4),
    'small-d_lg1e-2': _gan(_hrgan, 1e-2),
    'hrnet-d_lg2e-4': _gan(_qs + 'hrgan_synthetic-coco_128x96_hrnet-d.py', 2e-4),
    'conventional_lg1e-2': _gan(_qs + 'hrgan_synthetic-coco_128x96_conventional-gan.py', 1e-2),
}
baseline = 'hrnet'
seeds = [0, 1, 2, 3, 4]

metrics = {
    'coco/AP': 'higher',
    'occlusion/PCK_visible': 'higher',
    'occlusion/PCK_occluded': 'higher',
    'occlusion/PCK': 'higher',
    'occlusion/implausible_rate': 'lower',
    'occlusion/implausible_bone_rate': 'lower',
}
curves = ['loss_kpt', 'loss_adv', 'adv_grad_ratio', 'k_t']

schedule = {
    'train_cfg.max_epochs': 20,
    'param_scheduler.1.end': 20,
    'train_dataloader.batch_size': 16,
    'default_hooks.checkpoint.interval': 20,
}
cfg_options = {{_base_.proxy_options}}
