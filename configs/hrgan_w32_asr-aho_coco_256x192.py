# HRGAN-W32 on COCO trained on adversarially augmented batches: the HRGAN
# headline config plus the ASR + AHO hook of _base_/adversarial_augmentation.py.
_base_ = ['./hrgan_w32_coco_256x192.py', './_base_/adversarial_augmentation.py']

custom_hooks = _base_.custom_hooks + [
    dict(_base_.adversarial_augmentation_hook, **_base_.adversarial_augmentation_bbox_pck),
    *_base_.adversarial_augmentation_hooks[1:]]
