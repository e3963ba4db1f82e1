# Quickstart of the slides' "channel-wise conventional GAN" ablation: one
# real/fake decision per joint channel.
_base_ = './hrgan_synthetic-coco_128x96_conventional-gan.py'

model = dict(discriminator=dict(channel_wise=True))
