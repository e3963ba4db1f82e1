# Stacked hourglass, 2 stacks: pre-activation residual units, nearest upsampling.
# Otherwise (the HRU report's protocol) as hg8_res_mpii_256x256.py.
_base_ = './hg8_res_mpii_256x256.py'

model = dict(
    backbone=dict(num_stacks=2, unit='residual', upsample='nearest'),
    head=dict(num_stages=2))
