"""Hourglass units at convergence: residual units vs Hourglass Residual Units
(HRU) vs HRUs with transposed-convolution upsampling, and a residual
hourglass as large as the HRU one, 2 stacks, on the synthetic occlusion
benchmark (MPII format), on the converging proxy.

Arms, paired by seed: `res` (residual units, nearest upsampling; baseline),
`hru` (HRUs in the HRU report's placement, nearest upsampling), `hru-deconv` (the
same HRUs, the hourglass's x2 upsamplings as 3x3 transposed convolutions)
and `res-wide` (residual units at 148 features instead of 64: 0.98x the
`hru` arm's parameters, so capacity and the unit's design come apart). Each
is the quickstart 2-stack hourglass (depth 3) with `model.backbone.unit` /
`upsample` / `feat_channels` switched. Contrasts besides each arm against
`res`: `hru-deconv` - `hru` (what learned upsampling adds) and `hru` -
`res-wide` (the unit at equal capacity). Metrics on the synthetic val set:
PCKh@0.5 (MpiiPCKAccuracy, logged as `PCK`, percent), PCKh@0.5 over visible /
occluded joints and the implausible-pose and implausible-bone rates
(OcclusionPCKMetric, fractions).

The proxy (configs/experiments/_base_/proxy_hourglass_64x64.py) keeps the
HRU report's protocol (RMSprop 2.5e-4 at a constant rate, no warm-up, batch
8, rotation +-30, scale 0.75-1.25, sigma-1 heatmaps) and scales the network
(2 stacks of depth 3 and 64 features instead of 8 stacks of depth 4 and
256), the input (64x64 instead of 256x256, heatmaps 16x16), the data (2483
rendered people instead of MPII's 25k) and the schedule (8 epochs, 2488
iterations, instead of 15 over MPII).

Budget (estimated before the grid from the arms' backbone step times at
64x64, batch 8, one thread: hru 1.5x, hru-deconv 1.75x and res-wide 1.6x
the res arm): about 8 minutes per `res` run with two runs side by side on
2 CPU cores (`--jobs 2`), about 45 minutes of a run slot per seed, so about
2 hours of the machine for 5 seeds.
"""
_base_ = ['./_base_/occlusion_mpii.py', './_base_/proxy_hourglass_64x64.py']

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
# learned upsampling on HRUs; HRUs vs residual units of the same capacity
contrasts = [('hru-deconv', 'hru'), ('hru', 'res-wide')]

curves = ['loss_kpt']

schedule = {
    'train_cfg.max_epochs': 8,
    'train_dataloader.batch_size': 8,
    'optim_wrapper.optimizer.lr': 2.5e-4,
    'param_scheduler': [],
    'default_hooks.checkpoint.interval': 8,
}
cfg_options = {{_base_.proxy_options}}
