"""Convergence probe (synthetic data): one seed of the COCO-format baseline,
the quickstart reduced HRNet at 96x64 (configs/experiments/_base_/
proxy_coco_96x64.py) on the occlusion preset, trained long at a constant
learning rate (Adam 2e-3 after the 100-iteration warm-up) so that its
validation curve shows where the plateau is, not where a cosine schedule
ends it. 30 epochs = 2340 iterations at batch 32 over 2483 people,
validated 15 times; about 30 minutes on 2 CPU cores.
"""
_base_ = ['../_base_/occlusion_coco.py', '../_base_/proxy_coco_96x64.py']

arms = dict(hrnet=dict(config='configs/quickstart/hrnet_synthetic-coco_128x96.py'))
baseline = 'hrnet'
seeds = [0]
metrics = {'coco/AP': 'higher', 'occlusion/PCK': 'higher', 'occlusion/PCK_occluded': 'higher'}
val_points = 15
curves = ['loss_kpt']
schedule = {
    'train_cfg.max_epochs': 30,
    'param_scheduler.1.end': 30,
    'param_scheduler.1.eta_min': 2e-3,  # cosine from 2e-3 to 2e-3: constant
    'default_hooks.checkpoint.interval': 30,
}
cfg_options = {{_base_.proxy_options}}
