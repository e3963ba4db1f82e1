"""HRGAN vs HRNet on the synthetic occlusion benchmark (COCO format).

Arms, paired by seed (same generator initialisation and data order):
`hrnet`, the quickstart reduced HRNet (baseline), and `hrgan`, the same
network as HRGAN's generator against the quickstart BEGAN discriminator
(lambda_G 0.01, gamma 0.5, lambda_k 1; the published report was measured
with lambda_k 1e-3 and one D pass over real and fake together). Data: the `occlusion` preset of
tools/make_synthetic_dataset.py (crowded images, large occluders, people
overlapping, 30% unusual poses; about 29% of labelled keypoints hidden).
Metrics on the synthetic val set with ground-truth boxes: COCO AP
(CocoMetric), PCK@0.2 (bbox-normalised) over visible / occluded / all
keypoints and the implausible-pose rate (OcclusionPCKMetric).

Budget: 5 epochs (about 380 iterations at batch 32 over 2483 people), about
3.5 (HRNet) and 4.5 (HRGAN) minutes per run on a 2-core CPU, about 40
minutes for 2 arms x 5 seeds.
"""
_base_ = './_base_/occlusion_coco.py'

arms = dict(
    hrnet=dict(config='configs/quickstart/hrnet_synthetic-coco_128x96.py'),
    hrgan=dict(config='configs/quickstart/hrgan_synthetic-coco_128x96.py'),
)
baseline = 'hrnet'
seeds = [0, 1, 2, 3, 4]

metrics = {
    'coco/AP': 'higher',
    'occlusion/PCK_visible': 'higher',
    'occlusion/PCK_occluded': 'higher',
    'occlusion/PCK': 'higher',
    'occlusion/implausible_rate': 'lower',
}
curves = ['loss_kpt', 'loss_adv', 'k_t']

schedule = {
    'train_cfg.max_epochs': 5,
    'train_cfg.val_interval': 5,
    'param_scheduler.1.end': 5,
    'default_hooks.checkpoint.interval': 5,
}
