# The synthetic-MPII quickstart HRNet with adversarial data augmentation
# (ASR + AHO); compare its PCKh with hrnet_synthetic-mpii_128x128.py.
_base_ = './hrnet_synthetic-mpii_128x128.py'

custom_hooks = [
    dict(type='SyncBuffersHook'),
    dict(type='EpochSeedHook'),
    dict(type='AdversarialAugmentationHook', split=(1, 1, 1), pretrain_iters=60,
         log_interval=10, optimizer=dict(type='RMSprop', lr=1e-4)),
    dict(type='TrainingCurveHook', keys=['loss_kpt', 'aug_kl', 'aug_harder'], interval=5),
    dict(type='ChannelsLastHook'),  # GPU only; see README 'Fast training'
]
