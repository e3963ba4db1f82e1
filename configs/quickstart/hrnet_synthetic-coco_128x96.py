# Quickstart: the reduced HRNet of _base_/reduced_hrnet.py trained from scratch
# at 128x96 on the embedded synthetic COCO-format data (`make data` writes it
# to data/synthetic/).  About 8 minutes on 2 CPU cores.
_base_ = ['../hrnet_w32_coco_256x192.py', './_base_/reduced_hrnet.py']

data_root = _base_.quickstart_data_root
train_cfg = _base_.quickstart_train_cfg
randomness = dict(seed=0)
optim_wrapper = _base_.quickstart_optim_wrapper
param_scheduler = _base_.quickstart_param_scheduler

codec = dict(type='MSRAHeatmap', input_size=(96, 128), heatmap_size=(24, 32), sigma=1.5,
             unbiased=True, blur_kernel_size=7)
model = dict(backbone=_base_.quickstart_backbone, head=dict(in_channels=18, decoder=codec))

train_pipeline = [
    dict(type='LoadImageOrSkip'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform', rotate_factor=40),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImageOrFail'),  # an unreadable image stops evaluation with one line
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(
    **_base_.quickstart_train_loader,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/coco_train.json',
        data_prefix=dict(img='images/train/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    **_base_.quickstart_val_loader,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/coco_val.json',
        bbox_file=None,
        data_prefix=dict(img='images/val/'),
        pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/coco_val.json')
test_evaluator = val_evaluator

default_hooks = _base_.quickstart_default_hooks
custom_hooks = _base_.quickstart_custom_hooks
