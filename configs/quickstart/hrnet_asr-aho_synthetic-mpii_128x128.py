# The synthetic-MPII quickstart HRNet with adversarial data augmentation
# (ASR + AHO, _base_/adversarial_augmentation.py), shortened to the quickstart
# schedule; compare its PCKh with hrnet_synthetic-mpii_128x128.py.
_base_ = ['./hrnet_synthetic-mpii_128x128.py', '../_base_/adversarial_augmentation.py']

custom_hooks = _base_.custom_hooks + [
    dict(_base_.adversarial_augmentation_hook, pretrain_iters=60, log_interval=10,
         optimizer=dict(type='RMSprop', lr=1e-4)),
    dict(_base_.adversarial_augmentation_curves, interval=5),
    _base_.adversarial_augmentation_guard]
