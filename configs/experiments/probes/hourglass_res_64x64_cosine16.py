"""Convergence probe (synthetic data): one seed of hourglass_units' baseline
(`res`: the quickstart 2-stack hourglass with residual units and nearest
upsampling) on the spec's proxy (64x64, all 2483 training people, batch 8)
with the quickstart's decaying recipe instead of the HRU report's constant
rate: RMSprop 1e-3 after a 100-iteration warm-up, cosine decay to 1e-5 over
16 epochs (4976 iterations), validated 8 times. Against
hourglass_res_64x64_long.py (constant 2.5e-4 for 40 epochs) it shows
whether a decaying rate reaches a plateau within a schedule that 5 seeds of
4 arms can afford on 2 CPU cores.
"""
_base_ = ['../_base_/occlusion_mpii.py', '../_base_/proxy_hourglass_64x64.py']

arms = dict(res=dict(config='configs/quickstart/hg2_hru-deconv_synthetic-mpii_128x128.py',
                     cfg_options={'model.backbone.upsample': 'nearest',
                                  'model.backbone.unit': 'residual'}))
baseline = 'res'
seeds = [0]
val_points = 8
curves = ['loss_kpt']
schedule = {
    'train_cfg.max_epochs': 16,
    'param_scheduler.1.end': 16,
    'train_dataloader.batch_size': 8,
    'default_hooks.checkpoint.interval': 16,
}
cfg_options = {{_base_.proxy_options}}
