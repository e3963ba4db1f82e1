# Ablation ("final stage fusion" in the slides): the generator's last HRNet
# stage outputs all four branches, which are upsampled to the highest
# resolution and concatenated (32 + 64 + 128 + 256 = 480 channels) before
# the heatmap head.
_base_ = './hrgan_w32_mpii_256x256.py'

model = dict(
    backbone=dict(extra=dict(stage4=dict(multiscale_output=True))),
    neck=dict(type='FeatureMapProcessor', concat=True, scale_factor=1.0),
    head=dict(in_channels=480))
