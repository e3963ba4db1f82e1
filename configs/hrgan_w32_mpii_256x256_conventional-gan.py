# HRGAN slides' ablation "conventional GAN": HRGAN-W32 on MPII with a
# real/fake classifier D(C, X) (the reference HRNet D body pooled to one
# logit) and the non-saturating GAN loss instead of BEGAN's autoencoder and
# boundary equilibrium (_base_/conventional_gan.py). The slides report it
# collapsing; docs/evidence_results.md gives what it does on rendered data.
_base_ = ['./hrgan_w32_mpii_256x256.py', './_base_/conventional_gan.py']

model = dict(discriminator=dict(_base_.gan_discriminator, _delete_=True),
             adversarial_loss=dict(_base_.gan_loss, _delete_=True))
custom_hooks = [h for h in _base_.custom_hooks if h not in _base_.hrgan_hooks] + _base_.gan_hooks
