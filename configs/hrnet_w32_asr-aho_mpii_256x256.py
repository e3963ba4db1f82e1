# HRNet-W32 on MPII with adversarial data augmentation (ASR + AHO, Peng et
# al. 2018): the baseline config plus one custom hook.  Each batch is split
# into random / ASR / AHO thirds; the augmentation network pre-trains for
# 500 iterations, then learns online from the reward/penalty targets.
_base_ = './hrnet_w32_mpii_256x256.py'

custom_hooks = [
    dict(type='SyncBuffersHook'),
    dict(type='EpochSeedHook'),
    dict(type='AdversarialAugmentationHook', split=(1, 1, 1), pretrain_iters=500,
         optimizer=dict(type='RMSprop', lr=5e-5)),
    dict(type='TrainingCurveHook', keys=['loss_kpt', 'aug_kl', 'aug_harder']),
    dict(type='ChannelsLastHook'),  # GPU only; see README 'Fast training'
]
