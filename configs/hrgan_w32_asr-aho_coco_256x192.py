# HRGAN-W32 on COCO trained on adversarially augmented batches: the HRGAN
# headline config plus the ASR + AHO hook.
_base_ = './hrgan_w32_coco_256x192.py'

custom_hooks = [
    dict(type='SyncBuffersHook'),
    dict(type='EpochSeedHook'),
    dict(type='BoundaryEquilibriumHook', gamma=0.5, lambda_k=1e-3),
    dict(type='AdversarialAugmentationHook', split=(1, 1, 1), pretrain_iters=500),
    dict(type='TrainingCurveHook', keys=['loss_kpt', 'loss_adv', 'aug_kl']),
    dict(type='TrainingCurveHook', keys=['k_t', 'loss_real', 'loss_fake', 'M_global'],
         out_file='equilibrium.png'),
    dict(type='ChannelsLastHook'),  # GPU only; see README 'Fast training'
]
