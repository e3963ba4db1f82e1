# HRNet-W32 on COCO with adversarial data augmentation (ASR + AHO).
_base_ = ['./hrnet_w32_coco_256x192.py', './_base_/adversarial_augmentation.py']

custom_hooks = _base_.custom_hooks + [
    dict(_base_.adversarial_augmentation_hook, **_base_.adversarial_augmentation_bbox_pck),
    *_base_.adversarial_augmentation_hooks[1:]]
