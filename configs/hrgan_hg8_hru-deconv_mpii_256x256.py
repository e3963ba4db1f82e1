# HRGAN with the HRU stacked hourglass as generator: the hg8_hru-deconv model
# on MPII (with the 210-epoch hourglass schedule of _base_/hourglass_mpii.py) plus the BEGAN discriminator (judging the last stack's heatmaps) and
# boundary equilibrium, as hrgan_w32_mpii_256x256.py.
_base_ = './_base_/hourglass_mpii.py'

model = dict(
    type='AdversarialTopdownPoseEstimator',
    backbone=dict(unit='hru', upsample='deconv'),
    discriminator=dict(type='PoseDiscriminator', num_keypoints=16, feat_channels=32, depth=4),
    adversarial_loss=dict(type='BEGANLoss', reduction='mean', adv_target='gt'),
    lambda_g=1e-4,
    disc_steps=1,
    warmup_iters=0,
    k_init=0.0)

optim_wrapper = dict(
    _delete_=True,
    constructor='GANOptimWrapperConstructor',
    generator=dict(type='OptimWrapper', optimizer=dict(type='RMSprop', lr=2.5e-4)),
    discriminator=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=8e-5)))

model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel', broadcast_buffers=False,
    find_unused_parameters=False)

custom_hooks = [
    dict(type='SyncBuffersHook'),
    dict(type='EpochSeedHook'),
    dict(type='BoundaryEquilibriumHook', gamma=0.5, lambda_k=1e-3),
    dict(type='TrainingCurveHook', keys=['loss_kpt', 'loss_adv', 'acc_pose']),
    dict(type='TrainingCurveHook', keys=['k_t', 'loss_real', 'loss_fake', 'M_global'],
         out_file='equilibrium.png'),
    dict(type='ChannelsLastHook'),  # GPU only; see README 'Fast training'
]
