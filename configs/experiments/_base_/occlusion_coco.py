# The synthetic occlusion benchmark in COCO format: data written by the
# experiment runner (`occlusion` preset), COCO AP plus OcclusionPCKMetric
# (PCK@0.2 of the box size over visible / occluded / all keypoints,
# implausible-pose rate).
data = dict(root='data/synthetic-occlusion', preset='occlusion', num_train=1000, num_val=150)

_evaluator = [
    dict(type='CocoMetric', ann_file='data/synthetic-occlusion/annotations/coco_val.json'),
    dict(type='OcclusionPCKMetric', thr=0.2, norm_item='bbox'),
]
cfg_options = {
    'train_dataloader.dataset.data_root': 'data/synthetic-occlusion/',
    'val_dataloader.dataset.data_root': 'data/synthetic-occlusion/',
    'test_dataloader.dataset.data_root': 'data/synthetic-occlusion/',
    'val_evaluator': _evaluator,
    'test_evaluator': _evaluator,
    # One process per run, as the runner starts them: no persistent workers.
    'train_dataloader.persistent_workers': False,
    'val_dataloader.persistent_workers': False,
}

primary = 'coco/AP'  # the verdict's metric (Holm-adjusted); the others are exploratory
val_points = 10  # validation points per run: the learning curves
mechanism_samples = 64  # val persons each run's mechanism checks read (tools/mechanism_check.py)
