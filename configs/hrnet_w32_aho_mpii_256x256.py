# Ablation: adversarial hierarchical occlusion (AHO) only; half of each batch
# keeps random augmentation, half gets AHO.
_base_ = './hrnet_w32_asr-aho_mpii_256x256.py'

custom_hooks = [
    dict(type='SyncBuffersHook'),
    dict(type='EpochSeedHook'),
    dict(type='AdversarialAugmentationHook', split=(1, 0, 1), pretrain_iters=500),
    dict(type='TrainingCurveHook', keys=['loss_kpt', 'aug_kl', 'aug_harder']),
    dict(type='ChannelsLastHook'),  # GPU only; see README 'Fast training'
]
