# Quickstart on the embedded synthetic MPII-format data: the reduced HRNet of
# hrnet_synthetic-coco_128x96.py at 128x128, validated with MpiiPCKAccuracy
# (PCKh) against the generated mpii_gt_val.mat head boxes.
_base_ = '../hrnet_w32_mpii_256x256.py'

data_root = 'data/synthetic/'
max_epochs = 7
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
randomness = dict(seed=0)

optim_wrapper = dict(optimizer=dict(type='Adam', lr=2e-3))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=100, start_factor=0.01, by_epoch=False),
    dict(type='CosineAnnealingLR', begin=0, end=max_epochs, eta_min=1e-5, by_epoch=True),
]

codec = dict(type='MSRAHeatmap', input_size=(128, 128), heatmap_size=(32, 32), sigma=1.5,
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
    dict(type='RandomBBoxTransform', shift_prob=0, rotate_factor=40),
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
        ann_file='annotations/mpii_train.json',
        data_prefix=dict(img='images/train/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=2,
    pin_memory=False,  # CPU
    batch_size=64,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/mpii_val.json',
        headbox_file=data_root + 'annotations/mpii_gt_val.mat',
        data_prefix=dict(img='images/val/'),
        pipeline=val_pipeline))
test_dataloader = val_dataloader

default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs))
custom_hooks = [
    dict(type='SyncBuffersHook'),
    dict(type='EpochSeedHook'),
    dict(type='TrainingCurveHook', keys=['loss_kpt', 'acc_pose'], interval=5),
    dict(type='ChannelsLastHook'),  # GPU only; see README 'Fast training'
]
