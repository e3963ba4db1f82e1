"""Convergence probe (synthetic data): one seed of the COCO-format baseline,
the quickstart reduced HRNet at 64x48 (configs/experiments/_base_/
proxy_coco_64x48.py) on the occlusion preset, trained long at a constant
learning rate (Adam 2e-3 after the 100-iteration warm-up) so that its
validation curve shows where the plateau is, not where a cosine schedule
ends it. 40 epochs = 3120 iterations at batch 32 over 2483 people,
validated 20 times; about 25 minutes on 2 CPU cores.
"""
_base_ = ['../_base_/occlusion_coco.py', '../_base_/proxy_coco_64x48.py']

arms = dict(hrnet=dict(config='configs/quickstart/hrnet_synthetic-coco_128x96.py'))
baseline = 'hrnet'
seeds = [0]
metrics = {'coco/AP': 'higher', 'occlusion/PCK': 'higher', 'occlusion/PCK_occluded': 'higher'}
val_points = 20
curves = ['loss_kpt']
schedule = {
    'train_cfg.max_epochs': 40,
    'param_scheduler.1.end': 40,
    'param_scheduler.1.eta_min': 2e-3,  # cosine from 2e-3 to 2e-3: constant
    'default_hooks.checkpoint.interval': 40,
}
cfg_options = {{_base_.proxy_options}}
