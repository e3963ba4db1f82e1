"""Hourglass units: residual units vs Hourglass Residual Units (HRU) vs HRUs
with transposed-convolution upsampling, 2 stacks, on the synthetic occlusion
benchmark (MPII format).

Arms, paired by seed: `res` (residual units, nearest upsampling; baseline),
`hru` (HRUs, nearest upsampling) and `hru_deconv` (HRUs, 3x3 transposed
convolutions), each the quickstart 2-stack hourglass (64 features, 128x128
-> 32x32) with `model.backbone.unit` / `upsample` switched. Data: the
`occlusion` preset of tools/make_synthetic_dataset.py. Metrics on the
synthetic val set: PCKh@0.5 (MpiiPCKAccuracy, logged as `PCK`, percent),
PCKh@0.5 over visible / occluded joints and the implausible-pose and
implausible-bone rates (OcclusionPCKMetric, fractions).

Budget: 1 epoch over the first 2000 training people (60 iterations at batch
32), about 1.3 minutes per run on a 2-core CPU, about 20 minutes for 3 arms
x 5 seeds. A smoke-level schedule (the warm-up is not even over): it
separates the units' early learning speed, not their converged accuracy.

The report in docs/evidence/hourglass_units was measured on the code before the
fidelity fixes of the method (see README, Evidence).
"""
_base_ = './_base_/occlusion_mpii.py'

_config = 'configs/quickstart/hg2_hru-deconv_synthetic-mpii_128x128.py'
_nearest = {'model.backbone.upsample': 'nearest'}
arms = dict(
    res=dict(config=_config, cfg_options={**_nearest, 'model.backbone.unit': 'residual'}),
    hru=dict(config=_config, cfg_options={**_nearest, 'model.backbone.unit': 'hru'}),
    hru_deconv=dict(config=_config),
)
baseline = 'res'
seeds = [0, 1, 2, 3, 4]

curves = ['loss_kpt']

schedule = {
    'train_cfg.max_epochs': 1,
    'train_cfg.val_interval': 1,
    'param_scheduler.1.end': 1,
    'default_hooks.checkpoint.interval': 1,
    'train_dataloader.dataset.indices': 2000,
}
