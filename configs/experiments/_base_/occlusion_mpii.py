# The synthetic occlusion benchmark in MPII format: data written by the
# experiment runner (`occlusion` preset), PCKh@0.5 (MpiiPCKAccuracy, percent)
# plus OcclusionPCKMetric (PCKh@0.5 over visible / occluded / all joints,
# implausible-pose rate; visibility from the MPII json's joints_visibility).
data = dict(root='data/synthetic-occlusion', preset='occlusion', num_train=1000, num_val=150)

# what the benchmark reports (spec key `metrics`: name -> which direction is better)
metrics = {
    'PCK': 'higher',  # MpiiPCKAccuracy's PCKh@0.5 (head-normalised), percent
    'occlusion/PCK_visible': 'higher',
    'occlusion/PCK_occluded': 'higher',
    'occlusion/implausible_rate': 'lower',
    'occlusion/implausible_bone_rate': 'lower',
}
primary = 'PCK'  # the verdict's metric (Holm-adjusted); the others are exploratory
bounds = {'PCK': (0, 100)}  # MpiiPCKAccuracy reports percent
val_points = 10  # validation points per run: the learning curves

_headboxes = 'data/synthetic-occlusion/annotations/mpii_gt_val.mat'
_evaluator = [
    dict(type='MpiiPCKAccuracy'),
    dict(type='OcclusionPCKMetric', thr=0.5, norm_item='head',
         ann_file='data/synthetic-occlusion/annotations/mpii_val.json'),
]
cfg_options = {
    'train_dataloader.dataset.data_root': 'data/synthetic-occlusion/',
    'val_dataloader.dataset.data_root': 'data/synthetic-occlusion/',
    'val_dataloader.dataset.headbox_file': _headboxes,
    'test_dataloader.dataset.data_root': 'data/synthetic-occlusion/',
    'test_dataloader.dataset.headbox_file': _headboxes,
    'val_evaluator': _evaluator,
    'test_evaluator': _evaluator,
    # One process per run, as the runner starts them: no persistent workers.
    'train_dataloader.persistent_workers': False,
    'val_dataloader.persistent_workers': False,
}
mechanism_samples = 64  # val persons each run's mechanism checks read (tools/mechanism_check.py)
