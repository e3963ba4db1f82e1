# Quickstart of the slides' "conventional GAN" ablation: the quickstart's
# small discriminator body (PoseDiscriminator, 16 channels, depth 3) pooled
# to one real/fake logit per sample, with the non-saturating GAN loss instead
# of BEGAN (../_base_/conventional_gan.py). Same body as the quickstart HRGAN,
# so the two differ in the game only.
_base_ = ['./hrnet_synthetic-coco_128x96.py', '../_base_/hrgan.py',
          '../_base_/conventional_gan.py']

model = dict(_base_.hrgan_model, lambda_g=1e-2, adversarial_loss=_base_.gan_loss,
             discriminator=dict(_base_.gan_discriminator, body=dict(
                 _base_.hrgan_small_discriminator, feat_channels=16, depth=3)))
optim_wrapper = dict(_base_.hrgan_optim_wrapper, generator=_base_.optim_wrapper)
model_wrapper_cfg = _base_.hrgan_model_wrapper_cfg
custom_hooks = _base_.custom_hooks + [  # curves every 5 iterations, a shorter guard
    dict(_base_.gan_hooks[0], interval=5), dict(_base_.gan_hooks[1], patience=50)]
