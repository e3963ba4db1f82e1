# HRGAN-W32 with the cheaper discriminator: an hourglass autoencoder
# (PoseDiscriminator, 32 channels, depth 4; 0.27M parameters) in place of the
# reference's HRNet-W32 D (28.5M). docs/cost_and_speed.md gives what each costs.
_base_ = './hrgan_w32_coco_256x192.py'

model = dict(discriminator=dict(_base_.hrgan_small_discriminator, _delete_=True))
