# HRGAN-W32 on MPII, 256x256 (the slides' main setting): the stock HRNet-W32
# MPII recipe plus the HRGAN block of _base_/hrgan.py.
_base_ = ['./hrnet_w32_mpii_256x256.py', './_base_/hrgan.py']

model = _base_.hrgan_model
optim_wrapper = dict(_base_.hrgan_optim_wrapper, generator=_base_.optim_wrapper)
model_wrapper_cfg = _base_.hrgan_model_wrapper_cfg
custom_hooks = _base_.custom_hooks + _base_.hrgan_hooks
