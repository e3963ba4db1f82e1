# Quickstart: a reduced HRNet (W18 widths, fewer modules and blocks) trained
# from scratch at 128x96 on the embedded synthetic COCO-format data
# (`make data` writes it to data/synthetic/).  About 8 minutes on 2 CPU cores.
_base_ = '../hrnet_w32_coco_256x192.py'

data_root = 'data/synthetic/'
max_epochs = 7
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
randomness = dict(seed=0)

optim_wrapper = dict(optimizer=dict(type='Adam', lr=2e-3))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=100, start_factor=0.01, by_epoch=False),
    dict(type='CosineAnnealingLR', begin=0, end=max_epochs, eta_min=1e-5, by_epoch=True),
]

codec = dict(type='MSRAHeatmap', input_size=(96, 128), heatmap_size=(24, 32), sigma=1.5,
             unbiased=True, blur_kernel_size=7)
model = dict(
    backbone=dict(
        extra=dict(
            stage1=dict(num_blocks=(2, )),
            stage2=dict(num_blocks=(2, 2), num_channels=(18, 36)),
            stage3=dict(num_modules=2, num_blocks=(2, 2, 2), num_channels=(18, 36, 72)),
            stage4=dict(num_modules=1, num_blocks=(2, 2, 2, 2),
                        num_channels=(18, 36, 72, 144))),
        init_cfg=None),
    head=dict(in_channels=18, decoder=codec))

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
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(
    num_workers=2,
    pin_memory=False,  # CPU
    batch_size=32,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/coco_train.json',
        data_prefix=dict(img='images/train/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=2,
    pin_memory=False,  # CPU
    batch_size=64,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/coco_val.json',
        bbox_file=None,
        data_prefix=dict(img='images/val/'),
        pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/coco_val.json')
test_evaluator = val_evaluator

default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs))
custom_hooks = [
    dict(type='SyncBuffersHook'),
    dict(type='EpochSeedHook'),
    dict(type='TrainingCurveHook', keys=['loss_kpt', 'acc_pose'], interval=5),
    dict(type='ChannelsLastHook'),  # GPU only; see README 'Fast training'
]
