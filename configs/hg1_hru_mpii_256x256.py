# Stacked hourglass, 1 stack: Hourglass Residual Units, nearest upsampling.
# Otherwise (the HRU report's protocol) as hg8_res_mpii_256x256.py.
_base_ = './hg8_res_mpii_256x256.py'

model = dict(
    backbone=dict(num_stacks=1, unit='hru', upsample='nearest'),
    head=dict(num_stages=1))
