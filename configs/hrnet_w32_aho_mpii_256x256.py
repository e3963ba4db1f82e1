# Ablation: adversarial hierarchical occlusion (AHO) only; half of each batch
# keeps random augmentation, half gets AHO.
_base_ = ['./hrnet_w32_mpii_256x256.py', './_base_/adversarial_augmentation.py']

custom_hooks = _base_.custom_hooks + [
    dict(_base_.adversarial_augmentation_hook, split=(1, 0, 1)),
    _base_.adversarial_augmentation_curves, _base_.adversarial_augmentation_guard]
