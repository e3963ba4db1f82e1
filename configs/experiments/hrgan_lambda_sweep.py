"""How strong must the adversarial term be to change anything? HRGAN's
lambda_G swept on the synthetic occlusion benchmark (COCO format).

Arms, paired by seed (same generator initialisation and data order), all
with the quickstart reduced HRNet as the generator:

- `hrnet`: the baseline, no discriminator.
- `lg2e-4`, `lg1e-2`, `lg1e-1`, `lg1`: HRGAN with the small BEGAN
  discriminator (PoseDiscriminator, 16 channels, depth 3) at lambda_G =
  2e-4 (the reference code's 1e-4 on 0.5*MSE, in this project's units),
  1e-2, 1e-1 and 1.
- `hrnet-d_lg1`: the reference discriminator (HRNetDiscriminator, scaled
  down to the reduced HRNet's stages) at lambda_G = 1.
- `conventional_lg1`, `channel-wise_lg1`: the slides' GAN ablations (a
  real/fake classifier on the small D's body, one logit per sample / per
  joint, non-saturating GAN loss instead of BEGAN and k_t) at lambda_G = 1:
  against `lg1` they change the game only.

The last three use lambda_G = 1, the largest value of the sweep, which gives
the adversarial term its largest share of the generator's gradient
(adv_grad_ratio). Boundary equilibrium: gamma 0.5, lambda_k 1 (chosen so
that k_t moves within the run's 148 iterations; see the quickstart config),
k_0 0. adv_grad_ratio is measured every 10 iterations.

Metrics on the synthetic val set with ground-truth boxes: COCO AP, PCK@0.2
(bbox-normalised) over visible / occluded keypoints, the implausible-pose
and implausible-bone rates; training curves of loss_kpt, loss_adv, adv_grad_ratio, k_t, M_global.

Budget: 2 epochs (148 iterations at batch 32 over the occlusion data, with
the quickstart's warm-up and cosine schedule compressed to them): about
2 (HRNet), 2-2.5 (small D) and 4.5 (HRNet D) minutes per run on a 2-core
CPU, about 1 h 45 min for 8 arms x 5 seeds.
"""
_base_ = './_base_/occlusion_coco.py'

_qs = 'configs/quickstart/'
_hrgan = _qs + 'hrgan_synthetic-coco_128x96.py'


def _gan(config, lambda_g):
    return dict(config=config,
                cfg_options={'model.lambda_g': lambda_g, 'model.adv_grad_interval': 10})


arms = {
    'hrnet': dict(config=_qs + 'hrnet_synthetic-coco_128x96.py'),
    'lg2e-4': _gan(_hrgan, 2e-4),
    'lg1e-2': _gan(_hrgan, 1e-2),
    'lg1e-1': _gan(_hrgan, 1e-1),
    'lg1': _gan(_hrgan, 1.0),
    'hrnet-d_lg1': _gan(_qs + 'hrgan_synthetic-coco_128x96_hrnet-d.py', 1.0),
    'conventional_lg1': _gan(_qs + 'hrgan_synthetic-coco_128x96_conventional-gan.py', 1.0),
    'channel-wise_lg1': _gan(_qs + 'hrgan_synthetic-coco_128x96_channel-wise-gan.py', 1.0),
}
baseline = 'hrnet'
seeds = [0, 1, 2, 3, 4]

metrics = {
    'coco/AP': 'higher',
    'occlusion/PCK_visible': 'higher',
    'occlusion/PCK_occluded': 'higher',
    'occlusion/PCK': 'higher',
    'occlusion/implausible_rate': 'lower',
    'occlusion/implausible_bone_rate': 'lower',  # resolves where the pose rate saturates
}
curves = ['loss_kpt', 'loss_adv', 'adv_grad_ratio', 'k_t', 'M_global']

schedule = {
    'train_cfg.max_epochs': 2,
    'train_cfg.val_interval': 2,
    'param_scheduler.1.end': 2,
    'default_hooks.checkpoint.interval': 2,
}
