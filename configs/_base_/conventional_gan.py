# Fragment: the HRGAN slides' GAN ablations, a real/fake classifier D(C, X)
# with the standard (non-saturating) GAN loss in place of BEGAN's
# autoencoder and boundary equilibrium. Keys are prefixed `gan_`; combine with
# _base_/hrgan.py:
#
#   _base_ = ['./hrnet_w32_mpii_256x256.py', './_base_/hrgan.py',
#             './_base_/conventional_gan.py']
#   model = dict(_base_.hrgan_model, discriminator=_base_.gan_discriminator,
#                adversarial_loss=_base_.gan_loss)
#   custom_hooks = _base_.custom_hooks + _base_.gan_hooks
#
# D's body is the HRGAN reference discriminator (HRNet-W32 without its stem),
# pooled to one logit per sample (conventional) or per joint channel
# (`dict(_base_.gan_discriminator, channel_wise=True)`).
gan_loss = dict(type='NonSaturatingGANLoss')
gan_discriminator = dict(type='ClassifierDiscriminator', body=dict(type='HRNetDiscriminator'),
                         channel_wise=False)

# No k_t here. The slides report both ablations collapsing: the guard stops a
# run whose D separates real from fake almost perfectly (L_D below 1e-3, i.e.
# about 99.9% confidence on both) for 200 consecutive iterations.
gan_hooks = [
    dict(type='TrainingCurveHook', keys=['loss_real', 'loss_fake', 'loss_adv', 'adv_grad_ratio'],
         out_file='gan.png'),
    dict(type='DivergenceGuardHook', limits=dict(loss_d=(1e-3, None)), patience=200),
]
