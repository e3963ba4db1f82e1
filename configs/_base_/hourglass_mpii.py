# Fragment: the stacked hourglass (8 stacks, 256 features, pre-activation
# residual units, nearest upsampling) on MPII at 256x256 -> 64x64 with
# Newell et al.'s data recipe: RMSprop 2.5e-4, sigma-1 heatmaps, rotation +-30,
# scale 0.75-1.25, intermediate supervision of every stack through CPMHead;
# schedule and batch are mmpose's hourglass52 recipe (210 epochs, 64 per GPU).
# The hg{1,2,8}_{res,hru,hru-deconv} configs put the HRU report's 15-epoch protocol
# on top (hg8_res_mpii_256x256.py); the HRGAN and ASR/AHO hourglass configs
# keep this schedule.
_base_ = 'mmpose::body_2d_keypoint/topdown_heatmap/mpii/td-hm_hourglass52_8xb64-210e_mpii-256x256.py'  # noqa: E501

custom_imports = dict(imports=['hrgan_plugin'], allow_failed_imports=False)

optim_wrapper = dict(optimizer=dict(_delete_=True, type='RMSprop', lr=2.5e-4))

codec = dict(type='MSRAHeatmap', input_size=(256, 256), heatmap_size=(64, 64), sigma=1)
model = dict(
    backbone=dict(
        _delete_=True, type='HRUHourglassNet', num_keypoints=16, num_stacks=8,
        feat_channels=256, depth=4, unit='residual', upsample='nearest'),
    head=dict(in_channels=16, num_stages=8, final_layer=None, decoder=codec))

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
# Fast training recipe (docs/cost_and_speed.md): cuDNN autotuning and loaders
# that keep a GPU fed; channels-last is ChannelsLastHook below, AMP the --amp
# switch of tools/train.py. The train workers start afresh every epoch
# (persistent_workers=False): EpochSeedHook's exact --resume needs it, and
# refuses persistent train workers (the validation workers may persist).
env_cfg = dict(cudnn_benchmark=True)
train_dataloader = dict(num_workers=8, persistent_workers=False, pin_memory=True,
                        dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(num_workers=4, persistent_workers=True, pin_memory=True,
                      dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader

# Checkpoints: atomic writes, never with non-finite weights, loadable by plain
# torch.load (docs/reliability.md).
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'))
custom_hooks = [
    dict(type='SyncBuffersHook'),
    dict(type='EpochSeedHook'),
    dict(type='TrainingCurveHook', keys=['loss_kpt', 'acc_pose']),
    dict(type='ChannelsLastHook'),  # GPU only; see docs/cost_and_speed.md
]
