# HRGAN slides' ablation "channel-wise conventional GAN": as
# hrgan_w32_mpii_256x256_conventional-gan.py with one real/fake decision per
# joint channel.
_base_ = './hrgan_w32_mpii_256x256_conventional-gan.py'

model = dict(discriminator=dict(channel_wise=True))
