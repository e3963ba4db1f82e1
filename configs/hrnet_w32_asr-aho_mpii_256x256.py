# HRNet-W32 on MPII with adversarial data augmentation (ASR + AHO, Peng et
# al. 2018): the baseline config plus the hook of
# _base_/adversarial_augmentation.py.
_base_ = ['./hrnet_w32_mpii_256x256.py', './_base_/adversarial_augmentation.py']

custom_hooks = _base_.custom_hooks + _base_.adversarial_augmentation_hooks
