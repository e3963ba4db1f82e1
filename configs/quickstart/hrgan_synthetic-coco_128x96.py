# Quickstart HRGAN: the reduced HRNet of hrnet_synthetic-coco_128x96.py as the
# generator plus a small BEGAN discriminator (32x24 heatmaps, hourglass depth
# 3) with boundary equilibrium, on the embedded synthetic COCO-format data.
# `make quickstart` trains this config.  lambda_G is 0.01 (the other value
# suggested for the adversarial term): at this short schedule 1e-4 leaves the
# generator practically unchanged.
_base_ = './hrnet_synthetic-coco_128x96.py'

model = dict(
    type='AdversarialTopdownPoseEstimator',
    discriminator=dict(type='PoseDiscriminator', num_keypoints=17, feat_channels=16, depth=3),
    adversarial_loss=dict(type='BEGANLoss', reduction='mean', adv_target='gt'),
    lambda_g=1e-2,
    disc_steps=1,
    warmup_iters=0,
    k_init=0.0)

optim_wrapper = dict(
    _delete_=True,
    constructor='GANOptimWrapperConstructor',
    generator=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=2e-3)),
    discriminator=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=8e-5)))

model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel', broadcast_buffers=False,
    find_unused_parameters=False)

custom_hooks = [
    dict(type='SyncBuffersHook'),
    dict(type='EpochSeedHook'),
    dict(type='BoundaryEquilibriumHook', gamma=0.5, lambda_k=1e-3),
    dict(type='TrainingCurveHook', keys=['loss_kpt', 'loss_adv', 'acc_pose'], interval=5),
    dict(type='TrainingCurveHook', keys=['k_t', 'loss_real', 'loss_fake', 'M_global'],
         interval=5, out_file='equilibrium.png'),
    dict(type='ChannelsLastHook'),  # GPU only; see README 'Fast training'
]
