"""Convergence probe (synthetic data): one seed of hourglass_units'
baseline (`res`: the quickstart 2-stack hourglass with residual units and
nearest upsampling) on the spec's own proxy
(configs/experiments/_base_/proxy_hourglass_64x64.py: 64x64, all 2483
training people) with the HRU report's protocol (RMSprop 2.5e-4 at a
constant rate, batch 8), five times the spec's 8 epochs, so that its
validation curve shows where the plateau is and how far the spec's
schedule is from it. 40 epochs = 12440 iterations, validated 20 times.
"""
_base_ = ['../_base_/occlusion_mpii.py', '../_base_/proxy_hourglass_64x64.py']

arms = dict(res=dict(config='configs/quickstart/hg2_hru-deconv_synthetic-mpii_128x128.py',
                     cfg_options={'model.backbone.upsample': 'nearest',
                                  'model.backbone.unit': 'residual'}))
baseline = 'res'
seeds = [0]
val_points = 20
curves = ['loss_kpt']
schedule = {
    'train_cfg.max_epochs': 40,
    'train_dataloader.batch_size': 8,
    'optim_wrapper.optimizer.lr': 2.5e-4,
    'param_scheduler': [],
    'default_hooks.checkpoint.interval': 40,
}
cfg_options = {{_base_.proxy_options}}
