# Quickstart stacked hourglass on the synthetic MPII-format data: 2 stacks of
# HRUs with transposed-convolution upsampling, 64 features, at 128x128 ->
# 32x32, validated with MpiiPCKAccuracy against the generated head boxes.
# configs/experiments/hourglass_units.py compares res/hru/hru-deconv on this
# model with `model.backbone.unit`/`upsample` switched and the HRU report's protocol
# (RMSprop 2.5e-4 constant, batch 8) in place of this faster CPU recipe.
_base_ = '../hg2_hru-deconv_mpii_256x256.py'

data_root = 'data/synthetic/'
max_epochs = 6
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
auto_scale_lr = dict(base_batch_size=32)
randomness = dict(seed=0)

optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=100, start_factor=0.01, by_epoch=False),
    dict(type='CosineAnnealingLR', begin=0, end=max_epochs, eta_min=1e-5, by_epoch=True),
]

codec = dict(type='MSRAHeatmap', input_size=(128, 128), heatmap_size=(32, 32), sigma=1,
             unbiased=True, blur_kernel_size=5)
model = dict(backbone=dict(feat_channels=64, depth=3), head=dict(decoder=codec))

train_pipeline = [
    dict(type='LoadImageOrSkip'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform', shift_prob=0, rotate_factor=30, scale_factor=(0.75, 1.25)),
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
    dict(type='ChannelsLastHook'),  # GPU only; see docs/cost_and_speed.md
]
