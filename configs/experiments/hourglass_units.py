"""Hourglass units: residual units vs Hourglass Residual Units (HRU) vs HRUs
with transposed-convolution upsampling, 2 stacks, on the synthetic occlusion
benchmark (MPII format), trained with seed 003's protocol.

Arms, paired by seed: `res` (residual units, nearest upsampling; baseline),
`hru` (HRUs in the seed's placement, nearest upsampling) and `hru_deconv`
(the same HRUs, the hourglass's four x2 upsamplings as 3x3 transposed
convolutions), each the quickstart 2-stack hourglass (64 features, depth 3,
128x128 -> 32x32) with `model.backbone.unit` / `upsample` switched; all arms
at the same width. Protocol as configs/hg*_mpii_256x256.py: RMSprop 2.5e-4 at
a constant rate (no warm-up), batch 8, rotation +-30, scale 0.75-1.25, sigma
1. Data: the `occlusion` preset of tools/make_synthetic_dataset.py. Metrics
on the synthetic val set: PCKh@0.5 (MpiiPCKAccuracy, logged as `PCK`,
percent), PCKh@0.5 over visible / occluded joints and the implausible-pose
and implausible-bone rates (OcclusionPCKMetric, fractions).

Budget: 2 epochs over the 2483 training people (621 iterations at batch 8),
about 2-4 minutes per run on a 2-core CPU, about 55 minutes for 3 arms x 5
seeds. The seed trained 15 epochs of full MPII: this measures early
training, not converged accuracy.
"""
_base_ = './_base_/occlusion_mpii.py'

_config = 'configs/quickstart/hg2_hru-deconv_synthetic-mpii_128x128.py'
_nearest = {'model.backbone.upsample': 'nearest'}
_res = {**_nearest, 'model.backbone.unit': 'residual'}
arms = {
    'res': dict(config=_config, cfg_options=_res),
    'hru': dict(config=_config, cfg_options={**_nearest, 'model.backbone.unit': 'hru'}),
    'hru-deconv': dict(config=_config),
    # residual units at 148 features: 1.86M parameters, 0.98x the hru arm's 1.90M
    'res-wide': dict(config=_config, cfg_options={**_res, 'model.backbone.feat_channels': 148}),
}
baseline = 'res'
seeds = [0, 1, 2, 3, 4]

curves = ['loss_kpt']

schedule = {
    'train_cfg.max_epochs': 2,
    'train_cfg.val_interval': 2,
    'train_dataloader.batch_size': 8,
    'optim_wrapper.optimizer.lr': 2.5e-4,
    'param_scheduler': [],
    'default_hooks.checkpoint.interval': 1,
}
