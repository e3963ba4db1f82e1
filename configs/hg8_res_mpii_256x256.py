# Stacked hourglass, 8 stacks: pre-activation residual units, nearest upsampling,
# trained with the HRU report's protocol: 15 epochs of RMSprop 2.5e-4 at a constant
# rate (no warm-up), rotation +-30, scale 0.75-1.25, sigma-1 heatmaps at 64x64.
# Batch 8 per GPU, as Chu et al.'s HRU code (Newell et al. used 6; the report does
# not say). The hg{1,2,8}_{res,hru,hru-deconv} configs change only the stack
# count and the unit/upsampling.
_base_ = './_base_/hourglass_mpii.py'

train_cfg = dict(max_epochs=15, val_interval=5)
param_scheduler = []
train_dataloader = dict(batch_size=8)
auto_scale_lr = dict(base_batch_size=8)
default_hooks = dict(checkpoint=dict(interval=5))
