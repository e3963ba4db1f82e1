# HRGAN with the HRU stacked hourglass as generator: the hg8_hru-deconv model
# on MPII (with the 210-epoch hourglass schedule of _base_/hourglass_mpii.py)
# plus the HRGAN block of _base_/hrgan.py; D judges the last stack's heatmaps.
_base_ = ['./_base_/hourglass_mpii.py', './_base_/hrgan.py']

model = dict(_base_.hrgan_model, backbone=dict(unit='hru', upsample='deconv'))
optim_wrapper = dict(_base_.hrgan_optim_wrapper, generator=_base_.optim_wrapper)
model_wrapper_cfg = _base_.hrgan_model_wrapper_cfg
custom_hooks = _base_.custom_hooks + _base_.hrgan_hooks
