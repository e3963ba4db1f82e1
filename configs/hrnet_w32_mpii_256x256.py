# HRNet-W32 top-down heatmap baseline on MPII, 256x256: mmpose's stock model
# and data, trained with the generator recipe it shares with HRGAN
# (hrgan_w32_mpii_256x256.py; docs/hrgan.md, 'Recipe and fidelity'): 90 epochs (slides),
# RMSprop 2.5e-4 without warm-up or decay, batch 8 on one GPU, the official
# HRNet augmentation (scale 0.75-1.25, rotation up to 60 degrees with p 0.6),
# as the HRGAN reference code. The plugin's LoadImageOrSkip in training.
_base_ = 'mmpose::body_2d_keypoint/topdown_heatmap/mpii/td-hm_hrnet-w32_8xb64-210e_mpii-256x256.py'

custom_imports = dict(imports=['hrgan_plugin'], allow_failed_imports=False)

codec = dict(type='MSRAHeatmap', input_size=(256, 256), heatmap_size=(64, 64), sigma=2)
train_pipeline = [
    dict(type='LoadImageOrSkip'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform', shift_prob=0, scale_factor=(0.75, 1.25), rotate_factor=60),
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
train_dataloader = dict(batch_size=8, num_workers=8, persistent_workers=False, pin_memory=True,
                        dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(num_workers=4, persistent_workers=True, pin_memory=True,
                      dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader

train_cfg = dict(max_epochs=90, val_interval=10)
optim_wrapper = dict(optimizer=dict(_delete_=True, type='RMSprop', lr=2.5e-4, alpha=0.99))
param_scheduler = []  # the reference's steps at epochs 170 and 200 never fire in 90
auto_scale_lr = dict(base_batch_size=8)

# Checkpoints: atomic writes, never with non-finite weights, loadable by plain
# torch.load (docs/reliability.md).
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'))
custom_hooks = [
    dict(type='SyncBuffersHook'),
    dict(type='EpochSeedHook'),
    dict(type='TrainingCurveHook', keys=['loss_kpt', 'acc_pose']),
    dict(type='ChannelsLastHook'),  # GPU only; see docs/cost_and_speed.md
]
