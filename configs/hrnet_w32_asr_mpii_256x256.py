# Ablation: adversarial scaling and rotation (ASR) only; half of each batch
# keeps random augmentation, half gets ASR.
_base_ = ['./hrnet_w32_mpii_256x256.py', './_base_/adversarial_augmentation.py']

custom_hooks = _base_.custom_hooks + [
    dict(_base_.adversarial_augmentation_hook, split=(1, 1, 0)),
    _base_.adversarial_augmentation_curves, _base_.adversarial_augmentation_guard]
