# HRNet-W32 on COCO with adversarial data augmentation (ASR + AHO).
_base_ = './hrnet_w32_coco_256x192.py'

custom_hooks = [
    dict(type='SyncBuffersHook'),
    dict(type='EpochSeedHook'),
    dict(type='AdversarialAugmentationHook', split=(1, 1, 1), pretrain_iters=500),
    dict(type='TrainingCurveHook', keys=['loss_kpt', 'aug_kl', 'aug_harder']),
    dict(type='ChannelsLastHook'),  # GPU only; see README 'Fast training'
]
