"""Convergence probe (synthetic data): one seed of hourglass_units'
baseline, the quickstart 2-stack hourglass with residual units and nearest
upsampling at 96x96 (configs/experiments/_base_/proxy_mpii_96x96.py, 24x24
heatmaps), on the first 640 of the 2483 training people of the occlusion
preset, with the HRU report's protocol (RMSprop 2.5e-4 at a constant rate,
batch 8), so that its validation curve shows where the plateau is.
30 epochs = 2400 iterations, validated 15 times.
"""
_base_ = ['../_base_/occlusion_mpii.py', '../_base_/proxy_mpii_96x96.py']

arms = dict(res=dict(config='configs/quickstart/hg2_hru-deconv_synthetic-mpii_128x128.py',
                     cfg_options={'model.backbone.upsample': 'nearest',
                                  'model.backbone.unit': 'residual'}))
baseline = 'res'
seeds = [0]
val_points = 15
curves = ['loss_kpt']
schedule = {
    'train_cfg.max_epochs': 30,
    'train_dataloader.batch_size': 8,
    'optim_wrapper.optimizer.lr': 2.5e-4,
    'param_scheduler': [],
    'default_hooks.checkpoint.interval': 30,
    'train_dataloader.dataset.indices': 640,
}
cfg_options = {{_base_.proxy_options}}
