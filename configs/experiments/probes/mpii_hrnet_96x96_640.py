"""Convergence probe (synthetic data): one seed of the MPII-format baseline
of adv_aug_vs_random (random augmentation), the quickstart reduced HRNet at
96x96 (configs/experiments/_base_/proxy_mpii_96x96.py) on the occlusion
preset, trained on the first 640 of the 2483 training people at a constant
learning rate (Adam 2e-3 after the 100-iteration warm-up), so that its
validation curve shows where the plateau of the smaller problem is.
75 epochs = 1500 iterations at batch 32, validated 15 times.
"""
_base_ = ['../_base_/occlusion_mpii.py', '../_base_/proxy_mpii_96x96.py']

arms = dict(random=dict(config='configs/quickstart/hrnet_synthetic-mpii_128x128.py'))
baseline = 'random'
seeds = [0]
val_points = 15
curves = ['loss_kpt']
schedule = {
    'train_cfg.max_epochs': 75,
    'param_scheduler.1.end': 75,
    'param_scheduler.1.eta_min': 2e-3,  # cosine from 2e-3 to 2e-3: constant
    'default_hooks.checkpoint.interval': 75,
    'train_dataloader.dataset.indices': 640,
}
cfg_options = {{_base_.proxy_options}}
