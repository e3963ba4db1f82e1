# Ablation: no boundary equilibrium. k stays at k_init = 1 (L_D = L_real -
# L_fake, a plain energy-based GAN): the slides report such conventional GAN
# variants collapsing.
_base_ = './hrgan_w32_mpii_256x256.py'

model = dict(k_init=1.0)
custom_hooks = [
    dict(type='SyncBuffersHook'),
    dict(type='EpochSeedHook'),
    dict(type='TrainingCurveHook', keys=['loss_kpt', 'loss_adv', 'acc_pose']),
    dict(type='TrainingCurveHook', keys=['loss_real', 'loss_fake'], out_file='equilibrium.png'),
    dict(type='ChannelsLastHook'),  # GPU only; see README 'Fast training'
]
