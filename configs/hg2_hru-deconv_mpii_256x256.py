# Stacked hourglass, 2 stacks: Hourglass Residual Units, 3x3 transposed-convolution upsampling.
# Otherwise (the HRU report's protocol) as hg8_res_mpii_256x256.py.
_base_ = './hg8_res_mpii_256x256.py'

model = dict(
    backbone=dict(num_stacks=2, unit='hru', upsample='deconv', deconv_kernel=3),
    head=dict(num_stages=2))
