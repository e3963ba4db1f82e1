"""Convergence probe (synthetic data): one seed of the COCO-format baseline,
the quickstart reduced HRNet at 96x64 (configs/experiments/_base_/
proxy_coco_96x64.py) on the occlusion preset, trained on the first 640 of the
2483 training people at a constant learning rate (Adam 2e-3 after the
100-iteration warm-up), so that its validation curve shows where the plateau
of the smaller problem is. 75 epochs = 1500 iterations at batch 32,
validated 15 times; about 13 minutes on 2 CPU cores (0.46 s per iteration).
"""
_base_ = ['../_base_/occlusion_coco.py', '../_base_/proxy_coco_96x64.py']

arms = dict(hrnet=dict(config='configs/quickstart/hrnet_synthetic-coco_128x96.py'))
baseline = 'hrnet'
seeds = [0]
metrics = {'coco/AP': 'higher', 'occlusion/PCK': 'higher', 'occlusion/PCK_occluded': 'higher'}
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
