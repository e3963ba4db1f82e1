# The HRU stacked hourglass (8 stacks, transposed-convolution upsampling, the
# 210-epoch hourglass schedule of _base_/hourglass_mpii.py) on
# MPII with adversarial data augmentation (ASR + AHO), the paper's setting
# with our hourglass: AHO occludes the stem features, the augmentation
# network reads the stem and the first hourglass.
_base_ = './_base_/hourglass_mpii.py'

model = dict(backbone=dict(unit='hru', upsample='deconv'))

custom_hooks = [
    dict(type='SyncBuffersHook'),
    dict(type='EpochSeedHook'),
    dict(type='AdversarialAugmentationHook', split=(1, 1, 1), pretrain_iters=500),
    dict(type='TrainingCurveHook', keys=['loss_kpt', 'aug_kl', 'aug_harder']),
    dict(type='ChannelsLastHook'),  # GPU only; see README 'Fast training'
]
