"""Convergence probe (synthetic data): two seeds of the COCO-format
baseline, the quickstart reduced HRNet at 96x64 (configs/experiments/_base_/
proxy_coco_96x64.py) on the occlusion preset, from scratch with the
schedule first planned for the arms: 20 epochs (3120 iterations at batch
16), Adam 2e-3 after the 100-iteration warm-up, cosine decay to 1e-5,
validated every 2 epochs. About 19 minutes per run with both side by side
on 2 CPU cores (`--jobs 2`).
"""
_base_ = ['../_base_/occlusion_coco.py', '../_base_/proxy_coco_96x64.py']

arms = dict(hrnet=dict(config='configs/quickstart/hrnet_synthetic-coco_128x96.py'))
baseline = 'hrnet'
seeds = [0, 1]
metrics = {'coco/AP': 'higher', 'occlusion/PCK': 'higher', 'occlusion/PCK_occluded': 'higher'}
val_points = 10
curves = ['loss_kpt']
schedule = {
    'train_cfg.max_epochs': 20,
    'param_scheduler.1.end': 20,
    'train_dataloader.batch_size': 16,
    'default_hooks.checkpoint.interval': 20,
}
cfg_options = {{_base_.proxy_options}}
