# The synthetic-MPII quickstart HRNet with adversarial data augmentation
# (ASR + AHO, _base_/adversarial_augmentation.py), shortened to the quickstart
# schedule (3 epochs of pose pre-training, 10 updates of agent
# pre-training, then joint training); compare its PCKh with
# hrnet_synthetic-mpii_128x128.py.
_base_ = ['./hrnet_synthetic-mpii_128x128.py', '../_base_/adversarial_augmentation.py']

custom_hooks = _base_.custom_hooks + [
    dict(_base_.adversarial_augmentation_hook, pose_pretrain_epochs=3, agent_pretrain_iters=10,
         log_interval=10),
    dict(_base_.adversarial_augmentation_curves, interval=5),
    _base_.adversarial_augmentation_guard]
