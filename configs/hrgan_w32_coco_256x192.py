# HRGAN-W32 on COCO, 256x192: the stock HRNet-W32 recipe (generator) plus the
# HRGAN block of _base_/hrgan.py (BEGAN discriminator D(C, X) conditioned on
# the image, boundary equilibrium).
_base_ = ['./hrnet_w32_coco_256x192.py', './_base_/hrgan.py']

model = _base_.hrgan_model
optim_wrapper = dict(_base_.hrgan_optim_wrapper, generator=_base_.optim_wrapper)
model_wrapper_cfg = _base_.hrgan_model_wrapper_cfg
custom_hooks = _base_.custom_hooks + _base_.hrgan_hooks
